"""Image references: `busybox` → `docker.io/library/busybox:latest`, and the parse errors.

Mirrors github.com/distribution/reference (regexp.go's grammar: domain, path
components, tag, digest; normalize.go's ParseNormalizedNamed with splitDockerDomain and
FamiliarString; reference.go's errors) as the kubelet's pkg/util/parsers and
images.applyDefaultImageTag use it. Pure: no I/O.
Omitted: IPv6 domains in brackets, digest algorithms other than sha256/sha512 by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
REFERENCE_RE = re.compile(rf"^({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?$")
IDENTIFIER_RE = re.compile(r"^[a-f0-9]{64}$")


class InvalidReference(ValueError):
    """reference.ErrReferenceInvalidFormat and friends; str() is upstream's text."""


@dataclass(frozen=True)
class Named:
    """A normalized reference: domain + path, with an optional tag and digest."""

    domain: str
    path: str
    tag: str = ""
    digest: str = ""

    @property
    def name(self) -> str:
        return f"{self.domain}/{self.path}"

    def __str__(self) -> str:
        out = self.name + (f":{self.tag}" if self.tag else "")
        return out + (f"@{self.digest}" if self.digest else "")

    def familiar_name(self) -> str:
        """FamiliarName: docker.io/library/busybox → busybox, docker.io/x/y → x/y."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        return self.path.removeprefix(OFFICIAL_REPO_PREFIX)

    def familiar_string(self) -> str:
        out = self.familiar_name() + (f":{self.tag}" if self.tag else "")
        return out + (f"@{self.digest}" if self.digest else "")

    def with_default_tag(self) -> Named:
        """TagNameOnly: add `latest` when there is neither a tag nor a digest."""
        if self.tag or self.digest:
            return self
        return Named(self.domain, self.path, DEFAULT_TAG)


def split_docker_domain(name: str) -> tuple[str, str]:
    """The first component is a domain if it has a '.' or ':' or is localhost (or uppercase)."""
    first, sep, rest = name.partition("/")
    if not sep or (
        not any(c in first for c in ".:") and first != "localhost" and first.lower() == first
    ):
        domain, remainder = DEFAULT_DOMAIN, name
    else:
        domain, remainder = first, rest
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_REPO_PREFIX + remainder
    return domain, remainder


def parse_normalized_named(s: str) -> Named:
    """ParseNormalizedNamed, raising InvalidReference with upstream's messages."""
    if IDENTIFIER_RE.match(s):
        raise InvalidReference(
            f"invalid repository name ({s}), cannot specify 64-byte hexadecimal strings"
        )
    name_part, _, digest_part = s.partition("@")
    # the tag's colon is the last one after the last slash (a port's colon comes before it)
    slash = name_part.rfind("/")
    colon = name_part.rfind(":")
    bare = name_part[:colon] if colon > slash else name_part
    domain, remainder = split_docker_domain(bare)
    if remainder.lower() != remainder:
        raise InvalidReference("invalid reference format: repository name must be lowercase")
    tail = name_part[len(bare) :] + (f"@{digest_part}" if digest_part else "")
    return parse(f"{domain}/{remainder}{tail}")


def parse(s: str) -> Named:
    """reference.Parse of an already fully qualified string."""
    m = REFERENCE_RE.match(s)
    if m is None:
        if not s:
            raise InvalidReference("repository name must have at least one component")
        if REFERENCE_RE.match(s.lower()):
            raise InvalidReference("invalid reference format: repository name must be lowercase")
        raise InvalidReference("invalid reference format")
    name, tag, digest = m.group(1), m.group(2) or "", m.group(3) or ""
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference(
            f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"
        )
    domain, sep, path = name.partition("/")
    if not sep:
        raise InvalidReference("invalid reference format")
    return Named(domain, path, tag, digest)


def parse_image_name(image: str) -> tuple[str, str, str]:
    """pkg/util/parsers.ParseImageName: (repository, tag, digest), tag `latest` by default."""
    try:
        named = parse_normalized_named(image)
    except InvalidReference as err:
        raise InvalidReference(f'couldn\'t parse image name "{image}": {err}') from None
    tag = named.tag or ("" if named.digest else DEFAULT_TAG)
    return named.name, tag, named.digest
