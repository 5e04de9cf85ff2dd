"""The Deployment controller (pkg/controller/deployment)."""

from minicontroller.deployment.deployment_controller import DeploymentController

__all__ = ["DeploymentController"]
