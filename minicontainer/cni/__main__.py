"""`python -m minicontainer.cni`: the plugin executable (CNI_COMMAND in the environment)."""

import sys

from minicontainer.cni.skel import plugin_main

sys.exit(plugin_main())
