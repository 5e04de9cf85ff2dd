"""Content negotiation: which media type a request body is in, which the client accepts.

Mirrors k8s.io/apiserver/pkg/endpoints/handlers/negotiation/negotiate.go
(NegotiateInputSerializer, NegotiateOutputMediaType) and the `as=`/`g=`/`v=`
parameters of response.go's transformObject (Table, PartialObjectMetadata).
Pure: header strings in, a decision or a StatusError out.
"""

from __future__ import annotations

from dataclasses import dataclass

from miniapi import errors

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

INPUT_TYPES = (JSON, YAML, PROTOBUF)
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH)
OUTPUT_TYPES = (JSON, YAML, PROTOBUF)


@dataclass(frozen=True)
class MediaType:
    """One acceptable response form: the media type and the `as` conversion (if any)."""

    type: str = JSON
    convert: str = ""  # "", "Table", "PartialObjectMetadata", "PartialObjectMetadataList"
    pretty: bool = False


def parse_media_type(value: str) -> tuple[str, dict[str, str]]:
    """`application/json;as=Table;v=v1` -> ("application/json", {"as": "Table", "v": "v1"})."""
    head, *params = value.split(";")
    out: dict[str, str] = {}
    for p in params:
        k, _, v = p.strip().partition("=")
        out[k.strip().lower()] = v.strip().strip('"')
    return head.strip().lower(), out


def negotiate_input(content_type: str | None, allowed: tuple[str, ...] = INPUT_TYPES) -> str:
    """The body's media type, or 415 naming the accepted ones."""
    media, _ = parse_media_type(content_type or JSON)
    if media == "application/x-yaml" or media == "text/yaml":
        media = YAML
    if media not in allowed:
        raise errors.new_unsupported_media_type(list(allowed))
    return media


def _candidate(media: str, params: dict[str, str], is_list: bool) -> MediaType | None:
    if media in ("*/*", "application/*"):
        media = JSON
    if media not in OUTPUT_TYPES:
        return None
    conversion = params.get("as", "")
    if not conversion:
        return MediaType(media, "", params.get("pretty") == "1")
    if params.get("g") != "meta.k8s.io" or params.get("v") not in ("v1",):
        return None
    if conversion == "Table" and media != YAML:
        return MediaType(media if media == JSON else JSON, "Table")
    if conversion == "PartialObjectMetadata" and not is_list and media == JSON:
        return MediaType(JSON, conversion)
    if conversion == "PartialObjectMetadataList" and is_list and media == JSON:
        return MediaType(JSON, conversion)
    return None


def negotiate_output(accept: str | None, is_list: bool = False) -> MediaType:
    """The first acceptable form in the Accept header (JSON when there is none), else 406."""
    if not accept or not accept.strip():
        return MediaType()
    for part in accept.split(","):
        if not part.strip():
            continue
        media, params = parse_media_type(part)
        chosen = _candidate(media, params, is_list)
        if chosen is not None:
            return chosen
    raise errors.new_not_acceptable(list(OUTPUT_TYPES))
