"""What build.py and realworld.py share: a request's Postman test scripts, a JSON body,
a folder, and writing (or, with --check, comparing) the collection file."""

import json
import sys


def js_status(code):
    return [
        f'pm.test("status {code}", function () {{',
        f"    pm.response.to.have.status({code});",
        "});",
    ]


def events(status, tests=(), pre=()):
    """The request's scripts: a status check, then `tests` (JavaScript lines, with `b` the
    parsed JSON body) after it, and `pre` before the request."""
    lines = list(js_status(status))
    if tests:
        lines.append('const isJson = (pm.response.headers.get("Content-Type") || "").includes("json");')
        lines.append("const b = isJson ? pm.response.json() : {};")
        lines.append('pm.test("body", function () {')
        lines.extend("    " + line for line in tests)
        lines.append("});")
    scripts = [{"listen": "test", "script": {"type": "text/javascript", "exec": lines}}]
    if pre:
        scripts.insert(0, {"listen": "prerequest",
                           "script": {"type": "text/javascript", "exec": list(pre)}})
    return scripts


def json_body(raw):
    return {"mode": "raw", "raw": raw, "options": {"raw": {"language": "json"}}}


def folder(name, description, items):
    return {"name": name, "description": description, "item": items}


def write(collection, out):
    """Writes the collection to `out`; with --check, fails when the file differs."""
    text = json.dumps(collection, indent=2, ensure_ascii=False) + "\n"
    if "--check" in sys.argv:
        if out.read_text() != text:
            sys.exit(f"postman/{out.name} is stale: run `make postman`")
    else:
        out.write_text(text)
        count = sum(len(f["item"]) for f in collection["item"])
        print(f"wrote {out.name}: {count} requests")
