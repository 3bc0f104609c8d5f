#!/usr/bin/env python3
"""Writes docs/API.md, the endpoint reference, from the OpenAPI document.

    rookery openapi > openapi.json
    python3 scripts/api_reference.py openapi.json            # rewrites docs/API.md
    python3 scripts/api_reference.py openapi.json --check    # fails when it is stale

The samples are built from the schemas (their examples where they have one), so they
always have the fields and types the service really sends. `make api-doc` runs it; `make
e2e` runs the check.
"""

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "docs" / "API.md"
METHODS = ["get", "post", "put", "patch", "delete", "head"]

HEADER = """# Rookery API reference

Generated from the OpenAPI document (`GET /api/openapi.json`, or `make openapi`) by
`scripts/api_reference.py`: do not edit by hand, run `make api-doc`. The interactive version
is Swagger UI at `/api/docs`; a walkthrough with examples is [`GUIDE.md`](GUIDE.md).

## Conventions

- Base path `/api`; every path also answers with a trailing slash.
- JSON in and out (`application/json; charset=utf-8`), except uploads (`multipart/form-data`)
  and media downloads. Unknown fields are ignored; a JSON body over 1 MB is `413`.
- Authentication: `Authorization: Bearer <access>` from `POST /api/auth/login`. Endpoints
  marked **bearer** need it; **optional** ones accept it and then fill in viewer-specific
  fields (`is_following`, `liked_by_me`…); a bad token is `401` on both.
- IDs are 24 lowercase hex characters. Wherever a path says `{user}`, the user's id or
  username works. Times are RFC 3339 UTC with milliseconds.
- Lists are pages: `limit` (1..100, default 20) and `cursor` (copied from `next`); the body is
  `{"results": [...], "next": "/api/...?cursor=...&limit=20" | null}` and a
  `Link: <next>; rel="next"` header repeats `next`.

## Errors

Every error is JSON: `{"detail": "A sentence.", "code": "machine_code"}`; validation errors
add `errors`, every offending field with all its messages:

```json
{"detail": "Invalid input.", "code": "validation_error",
 "errors": {"content": ["This field is required."], "email": ["Enter a valid email address."]}}
```

| status | code(s) | when |
|---|---|---|
| 400 | `validation_error`, `invalid_json`, `invalid_token` | bad input; a bad or expired one-time token |
| 401 | `not_authenticated`, `token_invalid`, `token_expired`, `invalid_credentials` | no or bad token; wrong login (with `WWW-Authenticate: Bearer`) |
| 403 | `permission_denied`, `email_not_verified`, `account_disabled`, `blocked` | signed in but not allowed |
| 404 | `not_found` | no such resource, or the viewer may not know it exists |
| 405 | `method_not_allowed` | |
| 413 | `payload_too_large` | body or upload over its limit |
| 415 | `unsupported_media_type` | an upload whose bytes are not an allowed type |
| 416 | `range_not_satisfiable` | a `Range` outside the file |
| 429 | `rate_limited` | too many requests, with `Retry-After` |
| 500 | `internal_error` | never with internals |
| 503 | `service_unavailable` | the database does not answer; retry shortly |
"""

SAMPLE_ID = "6740a1b2c3d4e5f6a7b8c9d0"
SAMPLE_TIME = "2026-11-22T10:15:30.123Z"
SAMPLE_KEY = "k9Qz3VtYbW2xR7mN4pL8sA"
# The fields whose sample fell back to their own name (a placeholder): none allowed.
PLACEHOLDERS = set()

# Example values for fields whose schema has none, by field name: what a real answer or
# request carries (a ready JPEG, Alice's account…), never the field's own name. `--check`
# fails on a sample string equal to its field's name.
EXAMPLES = {
    "username": "alice", "full_name": "Alice Martin", "bio": "Photographer in Lisbon.",
    "email": "alice@example.com", "login": "alice", "password": "s3cure-pass",
    "password2": "s3cure-pass", "current_password": "s3cure-pass",
    "old_password": "s3cure-pass", "new_password": "n3w-s3cure-pass",
    "access": "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI2NzQwYTFiMmMzZDRlNWY2YTdiOGM5ZDAifQ.c2lnbmF0dXJl",
    "refresh": "yjYv4CAzC-LKTNS5KdVS3oZ2QeWm9xTp", "token": "Xq3vN8sLw2RzT5yKp7mB1cHd",
    "content": "Sunset over the Tagus #lisbon", "body": "Sunset over the Tagus, from the Alfama.",
    "title": "Sunset over the Tagus", "description": "An evening walk along the river.",
    "slug": "sunset-over-the-tagus-6740a1b2c3d4e5f6a7b8c9d0", "image": "https://example.com/alice.jpg",
    "name": "Lisbon photographers", "tag": "lisbon", "detail": "Done.",
    "details": "Spam: the same link posted in every thread.", "reason": "Followed by 3 people you follow",
    "content_type": "image/jpeg", "blurhash": "LKO2?U%2Tw=w]~RBVZRi};RPxuwH",
    "video_codec": None, "audio_codec": None, "failure": None,
    "action": "post.like", "target_type": "post", "date": "2026-11-22",
    "ip": "203.0.113.7", "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X)",
    "to": "alice@example.com", "subject": "Confirm your email address",
    "createdAt": SAMPLE_TIME, "updatedAt": SAMPLE_TIME,
    "size": 48213, "width": 1280, "height": 960, "duration_secs": None,
    "like_count": 12, "comment_count": 3, "view_count": 140, "followers_count": 42,
    "following_count": 17, "posts_count": 23, "member_count": 8, "favoritesCount": 12,
    "articlesCount": 1, "count": 4, "posts": 7, "views": 140, "unique_viewers": 96,
    "likes": 12, "comments": 3,
    # The items of string arrays, by the array's name.
    "hashtags": "lisbon", "tagList": "lisbon", "tags": "lisbon", "interests": "photography",
    "mentions": "bob", "ids": SAMPLE_ID,
}


class Doc:
    def __init__(self, spec):
        self.spec = spec
        self.schemas = spec.get("components", {}).get("schemas", {})

    def resolve(self, schema):
        while "$ref" in schema:
            schema = self.schemas[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def sample(self, schema, name="", depth=0):
        """A value that fits `schema`: its example when it has one."""
        schema = self.resolve(schema)
        if "example" in schema:
            return schema["example"]
        kind = schema.get("type")
        if name in EXAMPLES and kind not in ("object", "array") and "properties" not in schema:
            return EXAMPLES[name]
        if name == "status" and "enum" in schema and "ready" in schema["enum"]:
            return "ready"
        if "allOf" in schema:
            merged = {}
            for part in schema["allOf"]:
                value = self.sample(part, name, depth)
                if isinstance(value, dict):
                    merged.update(value)
            return merged
        for key in ("oneOf", "anyOf"):
            if key in schema:
                return self.sample(schema[key][0], name, depth)
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type")
        if isinstance(kind, list):
            kinds = [k for k in kind if k != "null"]
            kind = kinds[0] if kinds else "null"
            if depth > 0 and name in ("next", "publish_at", "resolved_at", "resolved_by",
                                      "group_id", "comment_id", "errors"):
                return None
        if kind == "object" or "properties" in schema:
            if depth > 4:
                return {}
            return {field: self.sample(sub, field, depth + 1)
                    for field, sub in schema.get("properties", {}).items()}
        if kind == "array":
            if depth > 4:
                return []
            return [self.sample(schema.get("items", {}), name, depth + 1)]
        if kind == "string":
            if schema.get("format") == "binary":
                return "<bytes>"
            if name == "id" or name.endswith("_id") or name.endswith("_ids"):
                return SAMPLE_ID
            if name.endswith("_at"):
                return SAMPLE_TIME
            if name == "url" or name.endswith("_url"):
                return f"/api/media/{SAMPLE_ID}?key={SAMPLE_KEY}"
            PLACEHOLDERS.add(name or "string")
            return name or "string"
        if kind == "integer":
            return schema.get("minimum", 0)
        if kind == "number":
            return 0.0
        if kind == "boolean":
            return False
        return None

    def fields(self, schema):
        """`(name, type, required, description)` of an object schema's properties."""
        schema = self.resolve(schema)
        rows = []
        parts = schema.get("allOf", [schema])
        for part in parts:
            part = self.resolve(part)
            required = set(part.get("required", []))
            for name, sub in part.get("properties", {}).items():
                rows.append((name, self.type_name(sub), name in required,
                             self.resolve(sub).get("description", sub.get("description", ""))))
        return rows

    def type_name(self, schema):
        if "$ref" in schema:
            return schema["$ref"].rsplit("/", 1)[1]
        kind = schema.get("type", "any")
        if isinstance(kind, list):
            kind = " or ".join(kind)
        if kind == "array":
            return f"[{self.type_name(schema.get('items', {}))}]"
        if "enum" in schema:
            return " \\| ".join(f"`{v}`" for v in schema["enum"])
        return kind


def one_line(text):
    return " ".join((text or "").split()).replace("|", "\\|")


def render(spec):
    doc = Doc(spec)
    out = [HEADER]
    tags = [t["name"] for t in spec.get("tags", [])]
    descriptions = {t["name"]: t.get("description", "") for t in spec.get("tags", [])}
    by_tag = {tag: [] for tag in tags}
    for path, item in spec["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if op:
                by_tag.setdefault(op.get("tags", ["other"])[0], []).append((method, path, op))

    out.append("## Endpoints\n")
    for tag, ops in by_tag.items():
        out.append(f"- [{tag}](#{tag}) — {descriptions.get(tag, '')}")
    out.append("")

    for tag, ops in by_tag.items():
        out.append(f"## {tag}\n")
        if descriptions.get(tag):
            out.append(descriptions[tag] + ".\n")
        out.append("| method | path | summary | auth |")
        out.append("|---|---|---|---|")
        for method, path, op in ops:
            out.append(f"| `{method.upper()}` | `{path}` | {one_line(op.get('summary'))} | "
                       f"{auth_of(op)} |")
        out.append("")
        for method, path, op in ops:
            if "(alias)" in (op.get("summary") or ""):
                continue
            out.extend(render_operation(doc, method, path, op))
    return "\n".join(out).rstrip() + "\n"


def auth_of(op):
    security = op.get("security")
    if not security:
        return "public"
    if any(not requirement for requirement in security):
        return "optional"
    return "bearer"


def render_operation(doc, method, path, op):
    lines = [f"### `{method.upper()} {path}`\n", f"**{op.get('summary', '')}** — "
             f"auth: {auth_of(op)}.\n"]
    description = op.get("description", "")
    if description:
        lines.append(description.strip() + "\n")
    params = op.get("parameters", [])
    if params:
        lines.append("| parameter | in | type | required | description |")
        lines.append("|---|---|---|---|---|")
        for p in params:
            lines.append(f"| `{p['name']}` | {p['in']} | {doc.type_name(p.get('schema', {}))} | "
                         f"{'yes' if p.get('required') else 'no'} | "
                         f"{one_line(p.get('description'))} |")
        lines.append("")
    body = op.get("requestBody")
    sample_path = path
    for p in params:
        if p["in"] == "path":
            value = {"user": "alice", "file": "index.html"}.get(p["name"], SAMPLE_ID)
            sample_path = sample_path.replace("{" + p["name"] + "}", value)
    request = [f"{method.upper()} {sample_path}"]
    if auth_of(op) == "bearer":
        request.append("Authorization: Bearer <access>")
    if body:
        content_type, content = next(iter(body["content"].items()))
        schema = content.get("schema", {})
        rows = doc.fields(schema)
        if rows:
            lines.append(f"Body (`{content_type}`"
                         f"{'' if body.get('required') else ', optional'}):\n")
            lines.append("| field | type | required | description |")
            lines.append("|---|---|---|---|")
            for name, kind, required, text in rows:
                lines.append(f"| `{name}` | {kind} | {'yes' if required else 'no'} | "
                             f"{one_line(text)} |")
            lines.append("")
        request.append(f"Content-Type: {content_type}")
        request.append("")
        if content_type == "application/json":
            request.append(json.dumps(doc.sample(schema), indent=2, ensure_ascii=False))
        else:
            request.append("(form fields: " + ", ".join(r[0] for r in rows) + ")")
    lines.append("Sample request:\n")
    lines.append("```http\n" + "\n".join(request) + "\n```\n")
    lines.append("| status | meaning |")
    lines.append("|---|---|")
    sample_response = None
    for status, response in sorted(op.get("responses", {}).items()):
        lines.append(f"| {status} | {one_line(response.get('description'))} |")
        if sample_response is None and status.startswith("2"):
            content = response.get("content", {}).get("application/json")
            if content and "schema" in content:
                sample_response = (status, doc.sample(content["schema"]))
    lines.append("")
    if sample_response:
        status, value = sample_response
        lines.append(f"Sample response (`{status}`):\n")
        lines.append("```json\n" + json.dumps(value, indent=2, ensure_ascii=False) + "\n```\n")
    return lines


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 1:
        sys.exit(__doc__)
    spec = json.loads(Path(args[0]).read_text())
    text = render(spec)
    if PLACEHOLDERS:
        sys.exit("docs/API.md would show placeholders (a field's name as its value) for: "
                 + ", ".join(sorted(PLACEHOLDERS)) + "; give them an example (EXAMPLES or the schema)")
    if "--check" in sys.argv:
        if not OUT.exists() or OUT.read_text() != text:
            sys.exit("docs/API.md is stale: run `make api-doc`")
        return
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
