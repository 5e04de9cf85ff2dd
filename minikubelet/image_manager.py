"""Making sure a container's image is on the node before it starts: pull policy and back-off.

Mirrors pkg/kubelet/images/image_manager.go (EnsureImageExists: applyDefaultImageTag,
the pull-policy precheck, shouldPullImage, the per `<pod uid>_<image>` back-off, the
Pulling / Pulled / Failed / BackOff / ErrImageNeverPull / InspectFailed events with
upstream's messages, evalCRIPullErr), types.go (ErrImagePull, ImagePullBackOff,
ErrImageNeverPull, InvalidImageName, ImageInspectError) and puller.go's serial puller
(the image service is called in the caller's thread, one pull at a time by its lock).
Omitted: pull secrets and credential providers, KubeletEnsureSecretPulledImages, pull QPS,
parallel pulls, the registry-unavailable and signature error kinds; repeated BackOff events
are told once per back-off window instead of being aggregated by an event correlator.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from miniapi.core import v1
from miniapi.meta.v1.duration import format_duration
from minikubelet.backoff import Backoff
from minikubelet.images import ImagePullError, ImageService
from minikubelet.reference import InvalidReference, parse_image_name

PULL_ALWAYS, PULL_IF_NOT_PRESENT, PULL_NEVER = "Always", "IfNotPresent", "Never"

# Errors: their text is the container's waiting reason.
ERR_IMAGE_PULL = "ErrImagePull"
ERR_IMAGE_PULL_BACK_OFF = "ImagePullBackOff"
ERR_IMAGE_NEVER_PULL = "ErrImageNeverPull"
ERR_INVALID_IMAGE_NAME = "InvalidImageName"
ERR_IMAGE_INSPECT = "ImageInspectError"

# Event reasons (pkg/kubelet/events/event.go).
PULLING_IMAGE, PULLED_IMAGE, FAILED_TO_PULL_IMAGE = "Pulling", "Pulled", "Failed"
BACK_OFF_PULL_IMAGE, ERR_IMAGE_NEVER_PULL_POLICY = "BackOff", "ErrImageNeverPull"
FAILED_TO_INSPECT_IMAGE = "InspectFailed"

Event = tuple[str, str, str]  # type, reason, message


def default_pull_policy(image: str) -> str:
    """SetDefaults_Container's rule, for pods that reach us undefaulted."""
    try:
        _repo, tag, _digest = parse_image_name(image)
    except InvalidReference:
        return PULL_IF_NOT_PRESENT
    return PULL_ALWAYS if tag == "latest" else PULL_IF_NOT_PRESENT


def should_pull_image(policy: str, present: bool) -> bool:
    """shouldPullImage: Never never pulls; Always always; IfNotPresent when absent."""
    if policy == PULL_NEVER:
        return False
    return policy == PULL_ALWAYS or (policy == PULL_IF_NOT_PRESENT and not present)


def apply_default_image_tag(image: str) -> str:
    """`busybox` → `busybox:latest`; keeps the name short (no docker.io/ added)."""
    _repo, tag, digest = parse_image_name(image)
    if not digest and tag and not image.endswith(":" + tag):
        image = f"{image}:{tag}"
    return image


def go_duration(seconds: float) -> str:
    """Go's Duration.Truncate(time.Millisecond).String(), as the Pulled event prints it."""
    return format_duration(int(seconds * 1000) * 1_000_000)


class ImageManager:
    """EnsureImageExists for one node; `clock` measures pull durations (monotonic seconds)."""

    def __init__(
        self, service: ImageService, backoff: Backoff, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.service, self.backoff, self.clock = service, backoff, clock
        self.prev_pull_err_msg: dict[str, str] = {}
        self.reported: set[tuple[str, float]] = set()  # back-off windows already told
        self.told: set[tuple[str, str]] = set()  # (pod uid, message) of repeated failures

    def _tell_once(self, uid: str, event: Event, events: list[Event]) -> None:
        """A failure that repeats on every sync is told once (upstream's correlator counts)."""
        if (uid, event[2]) not in self.told:
            self.told.add((uid, event[2]))
            events.append(event)

    def forget(self, uid: str) -> None:
        """The pod is gone: drop what was kept to tell its failures once."""
        self.told = {t for t in self.told if t[0] != uid}
        self.reported = {r for r in self.reported if not r[0].startswith(f"{uid}_")}
        for key in [k for k in self.prev_pull_err_msg if k.startswith(f"{uid}_")]:
            del self.prev_pull_err_msg[key]

    def ensure_image_exists(
        self, pod: v1.Pod, container: v1.Container, now: float, events: list[Event]
    ) -> tuple[str, str, str]:
        """(imageRef, error reason, message); the reason is '' when the image is there."""
        requested = container.image
        try:
            image = apply_default_image_tag(requested)
        except InvalidReference as err:
            msg = f'Failed to apply default image tag "{requested}": {err}'
            self._tell_once(pod.metadata.uid, ("Warning", FAILED_TO_INSPECT_IMAGE, msg), events)
            return "", ERR_INVALID_IMAGE_NAME, msg
        policy = container.image_pull_policy or default_pull_policy(requested)
        present = None
        if policy != PULL_ALWAYS:
            try:
                present = self.service.image_status(image)
            except (ImagePullError, OSError, ValueError) as err:
                msg = f'Failed to inspect image "{requested}": {err}'
                events.append(("Warning", FAILED_TO_INSPECT_IMAGE, msg))
                return "", ERR_IMAGE_INSPECT, msg
        if not should_pull_image(policy, present is not None):
            if present is not None:
                msg = f'Container image "{requested}" already present on machine'
                events.append(("Normal", PULLED_IMAGE, msg))
                self.told = {t for t in self.told if t[0] != pod.metadata.uid}
                return present.repo_digests[0], "", ""
            msg = f'Container image "{requested}" is not present with pull policy of Never'
            self._tell_once(pod.metadata.uid, ("Warning", ERR_IMAGE_NEVER_PULL_POLICY, msg), events)
            return "", ERR_IMAGE_NEVER_PULL, msg
        return self.pull_image(pod.metadata.uid, requested, image, now, events)

    def pull_image(
        self, uid: str, requested: str, image: str, now: float, events: list[Event]
    ) -> tuple[str, str, str]:
        key = f"{uid}_{requested}"  # the name as written, as upstream keys it
        if self.backoff.is_in_back_off_since_update(key, now):
            msg = f'Back-off pulling image "{requested}"'
            window = (key, self.backoff.last_update(key))
            if window not in self.reported:
                self.reported.add(window)
                events.append(("Normal", BACK_OFF_PULL_IMAGE, msg))
            prev = self.prev_pull_err_msg.get(key)
            return "", ERR_IMAGE_PULL_BACK_OFF, f"{msg}: {prev}" if prev else msg
        self.prev_pull_err_msg.pop(key, None)
        events.append(("Normal", PULLING_IMAGE, f'Pulling image "{requested}"'))
        start = self.clock()
        try:
            pulled = self.service.pull_image(image)
        except (ImagePullError, OSError, ValueError) as err:
            events.append(("Warning", FAILED_TO_PULL_IMAGE,
                            f'Failed to pull image "{requested}": {err}'))  # fmt: skip
            self.backoff.next(key, now)
            self.prev_pull_err_msg[key] = f"{ERR_IMAGE_PULL}: {err}"
            return "", ERR_IMAGE_PULL, str(err)
        took = go_duration(self.clock() - start)
        events.append(("Normal", PULLED_IMAGE,
                       f'Successfully pulled image "{requested}" in {took} ({took} including '
                       f"waiting). Image size: {pulled.size} bytes."))  # fmt: skip
        self.backoff.gc(now)
        return pulled.repo_digests[0], "", ""
