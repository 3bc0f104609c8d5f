#!/usr/bin/env python3
"""Writes rookery.postman_collection.json: a run, top to bottom, through every resource
of the API (docs/API.md), each request with Postman tests on its status and key fields.

Edit this file, not the JSON: `make postman` rewrites it, and `make e2e` fails when the
committed collection differs from what this script writes.

Two users (alice, bob) register, read their verification token from the development
outbox (GET /api/dev/outbox, on in config/development.toml), verify and log in; an admin
(created by `rookery create-admin`, see scripts/e2e.sh) moderates. Names carry a per-run
suffix, so the collection can run again against the same database.
"""

import json
from pathlib import Path

from collection import events, folder, json_body, write

HERE = Path(__file__).resolve().parent
OUT = HERE / "rookery.postman_collection.json"


def request(name, method, path, *, who=None, body=None, form=None, status=200, tests=(),
            pre=(), raw_body=None):
    """One request. `who` is alice, bob, admin, or None (anonymous); `tests` are
    JavaScript lines run after the status check, with `b` the parsed JSON body."""
    scripts = events(status, tests, pre)
    req = {"method": method, "header": [], "url": "{{base_url}}" + path}
    if who:
        req["auth"] = {"type": "bearer", "bearer": [
            {"key": "token", "value": "{{" + who + "_access}}", "type": "string"}]}
    else:
        req["auth"] = {"type": "noauth"}
    if body is not None or raw_body is not None:
        req["header"].append({"key": "Content-Type", "value": "application/json"})
        req["body"] = json_body(raw_body if raw_body is not None else json.dumps(body, indent=2))
    if form is not None:
        req["body"] = {"mode": "formdata", "formdata": [
            {"key": key, "type": "file", "src": src} for key, src in form]}
    return {"name": name, "event": scripts, "request": req}


def save(var, expr):
    return f'pm.collectionVariables.set("{var}", {expr});'


def expect(expr):
    return f"pm.expect({expr});"


def includes_id(var):
    return expect(f'b.results.map(function (x) {{ return x.id; }})).to.include('
                  f'pm.collectionVariables.get("{var}")')


ALICE = "alice_{{run}}"
BOB = "bob_{{run}}"


def outbox_token(user, var, subject_word):
    """Polls the development outbox until the email arrives (some are sent after the
    response), then keeps its token."""
    return request(
        f"Read {user}'s {subject_word} token (development outbox)", "GET",
        f"/api/dev/outbox?to={user}_{{{{run}}}}@example.com",
        tests=[
            f'const mail = b.results.find(function (m) {{ return m.subject.toLowerCase().includes("{subject_word}"); }});',
            "const tries = Number(pm.collectionVariables.get('outbox_tries') || 0);",
            "if (!mail && tries < 50) {",
            "    pm.collectionVariables.set('outbox_tries', tries + 1);",
            "    postman.setNextRequest(pm.info.requestName);",
            "} else {",
            "    pm.collectionVariables.set('outbox_tries', 0);",
            '    pm.test("the email arrived", function () { pm.expect(mail).to.be.an("object"); });',
            f'    pm.collectionVariables.set("{var}", mail.token);',
            "}",
        ],
        pre=["if (Number(pm.collectionVariables.get('outbox_tries') || 0) > 0) {",
             "    setTimeout(function () {}, 100);",
             "}"],
    )


def login(user, var, password="{{password}}", status=200):
    return request(
        f"Log in as {user}", "POST", "/api/auth/login",
        body={"login": f"{user}_{{{{run}}}}", "password": password}, status=status,
        tests=[expect('b.token_type).to.eql("Bearer"'),
               expect(f'b.user.username).to.eql("{user}_" + pm.collectionVariables.get("run")'),
               save(f"{var}_access", "b.access"), save(f"{var}_refresh", "b.refresh")]
        if status == 200 else [],
    )


setup = folder("1. Setup", "Health, two accounts verified through the outbox, and logins.", [
    request("Health", "GET", "/health",
            pre=['pm.collectionVariables.set("run", Date.now().toString(36));',
                 'pm.collectionVariables.set("password", "Correct-horse-42");',
                 'pm.collectionVariables.set("new_password", "Battery-staple-77");'],
            tests=[expect('b.status).to.eql("ok"')]),
    request("Ready", "GET", "/ready", tests=[expect('b.database).to.eql("ok"')]),
    request("OpenAPI document", "GET", "/api/openapi.json",
            tests=[expect('b.openapi).to.match(/^3\\.1/'),
                   expect('Object.keys(b.paths)).to.include("/api/posts"')]),
    request("Register alice", "POST", "/api/auth/register", status=201,
            body={"username": ALICE, "email": ALICE + "@example.com",
                  "password": "{{password}}", "full_name": "Alice Liddell"},
            tests=[expect('b.user.email_verified).to.eql(false'),
                   expect('b.user.role).to.eql("user"'), save("alice_id", "b.user.id")]),
    request("Register bob", "POST", "/api/auth/register", status=201,
            body={"username": BOB, "email": BOB + "@example.com", "password": "{{password}}"},
            tests=[save("bob_id", "b.user.id")]),
    request("Register a taken username (400)", "POST", "/api/auth/register", status=400,
            body={"username": ALICE, "email": "other_{{run}}@example.com",
                  "password": "{{password}}"},
            tests=[expect('b.code).to.eql("validation_error"'),
                   expect('b.errors).to.have.property("username"')]),
    request("Log in before verifying (403)", "POST", "/api/auth/login", status=403,
            body={"login": ALICE, "password": "{{password}}"},
            tests=[expect('b.code).to.eql("email_not_verified"')]),
    outbox_token("alice", "alice_verify_token", "confirm"),
    request("Verify alice (the emailed link)", "GET",
            "/api/auth/verify-email?token={{alice_verify_token}}",
            tests=[expect("b.detail).to.be.a(\"string\"")]),
    request("Verify with a used token (400)", "POST", "/api/auth/verify-email", status=400,
            body={"token": "{{alice_verify_token}}"},
            tests=[expect('b.code).to.eql("invalid_token"')]),
    outbox_token("bob", "bob_verify_token", "confirm"),
    request("Verify bob", "POST", "/api/auth/verify-email", body={"token": "{{bob_verify_token}}"}),
    login("alice", "alice"),
    login("bob", "bob"),
    request("Log in with a wrong password (401)", "POST", "/api/auth/login", status=401,
            body={"login": ALICE, "password": "wrong-password-1"},
            tests=[expect('b.code).to.eql("invalid_credentials"')]),
    request("Log in as the admin", "POST", "/api/auth/login",
            body={"login": "{{admin_login}}", "password": "{{admin_password}}"},
            tests=[expect('b.user.role).to.eql("admin"'), save("admin_access", "b.access")]),
])

accounts = folder("2. Account", "The signed-in account, its profile and sessions.", [
    request("Me", "GET", "/api/users/me", who="alice",
            tests=[expect('b.email).to.eql("alice_" + pm.collectionVariables.get("run") + "@example.com"'),
                   expect("b.email_verified).to.eql(true")]),
    request("Me without a token (401)", "GET", "/api/users/me", status=401,
            tests=[expect('b.code).to.eql("not_authenticated"'),
                   expect('pm.response.headers.get("WWW-Authenticate")).to.eql("Bearer"')]),
    request("Edit the profile", "PATCH", "/api/users/me", who="alice",
            body={"bio": "Curiouser and curiouser.", "interests": ["rust", "birds"]},
            tests=[expect('b.bio).to.eql("Curiouser and curiouser."'),
                   expect('b.interests).to.eql(["rust", "birds"]')]),
    request("Edit with a bio too long (400)", "PATCH", "/api/users/me", who="alice",
            status=400, raw_body='{"bio": "' + "x" * 501 + '"}',
            tests=[expect('b.errors).to.have.property("bio"')]),
    request("Refresh the tokens", "POST", "/api/auth/token/refresh",
            body={"refresh": "{{alice_refresh}}"},
            tests=[save("alice_access", "b.access"), save("alice_refresh", "b.refresh"),
                   expect("b.expires_in).to.be.above(0")]),
    request("Sessions", "GET", "/api/auth/sessions", who="alice",
            tests=[expect("b.results.filter(function (s) { return s.current; }).length).to.eql(1")]),
    request("Resend the verification email (202)", "POST", "/api/auth/resend-verification",
            status=202, body={"email": "nobody_{{run}}@example.com"},
            tests=[expect('b.detail).to.be.a("string"')]),
])

social = folder("3. Users and follows", "Profiles, search, follows, suggestions.", [
    request("Bob's profile", "GET", "/api/users/{{bob_id}}", who="alice",
            tests=[expect('b.username).to.eql("bob_" + pm.collectionVariables.get("run")'),
                   expect("b).to.not.have.property(\"email\"")]),
    request("Bob's profile by username", "GET", "/api/users/" + BOB,
            tests=[expect('b.id).to.eql(pm.collectionVariables.get("bob_id")')]),
    request("Search users", "GET", "/api/users/search?q=" + ALICE,
            tests=[includes_id("alice_id")]),
    request("Alice follows bob (201)", "POST", "/api/users/{{bob_id}}/follow", who="alice",
            status=201, tests=[expect("b.is_following).to.eql(true"),
                               expect("b.followers_count).to.eql(1")]),
    request("Follow again (200)", "POST", "/api/users/{{bob_id}}/follow", who="alice"),
    request("Follow yourself (400)", "POST", "/api/users/{{alice_id}}/follow", who="alice",
            status=400, tests=[expect('b.code).to.eql("validation_error"')]),
    request("Bob's followers", "GET", "/api/users/{{bob_id}}/followers",
            tests=[includes_id("alice_id"), expect("b).to.have.property(\"next\"")]),
    request("Whom alice follows", "GET", "/api/users/{{alice_id}}/following?limit=10",
            tests=[includes_id("bob_id")]),
    request("Suggestions", "GET", "/api/users/suggestions?limit=5", who="bob",
            tests=[expect("b.results).to.be.an(\"array\"")]),
])

media = folder("4. Media", "Uploads checked by content, downloads, avatars.", [
    request("Upload an image", "POST", "/api/media", who="alice", status=201,
            form=[("file", "fixtures/pixel.png")],
            tests=[expect('b.kind).to.eql("image"'), expect("b.width).to.eql(4"),
                   expect('b.url).to.match(/^\\/api\\/media\\/[0-9a-f]{24}\\?key=[A-Za-z0-9_-]{22}$/'),
                   expect('b.status).to.eql("ready"'),
                   expect('b.variants.preview.content_type).to.eql("image/webp"'),
                   save("media_id", "b.id"), save("media_url", "b.url")]),
    request("Upload text named as an image (415)", "POST", "/api/media", who="alice",
            status=415, form=[("file", "fixtures/not-an-image.txt")],
            tests=[expect('b.code).to.eql("unsupported_media_type"')]),
    request("Download it through its URL", "GET", "{{media_url}}",
            tests=[expect('pm.response.headers.get("Content-Type")).to.eql("image/png"'),
                   expect('pm.response.headers.get("ETag")).to.be.a("string"')]),
    request("Without the URL's key there is no file (404)", "GET", "/api/media/{{media_id}}",
            status=404, tests=[expect('b.code).to.eql("not_found"')]),
    request("Set the avatar", "PUT", "/api/users/me/avatar", who="alice",
            form=[("file", "fixtures/pixel.png")],
            tests=[expect('b.avatar_url).to.match(/^\\/api\\/media\\//')]),
])

posts = folder("5. Posts and feed", "Posts, hashtags, mentions, scheduling, history, the feed.", [
    request("Bob writes a post", "POST", "/api/posts", who="bob", status=201,
            body={"title": "Hello", "content": "Hello #rookery{{run}} from @" + ALICE},
            tests=[expect('b.hashtags).to.eql(["rookery" + pm.collectionVariables.get("run")]'),
                   expect('b.mentions).to.eql(["alice_" + pm.collectionVariables.get("run")]'),
                   expect('b.status).to.eql("published"'), save("bob_post_id", "b.id")]),
    request("Alice writes a post with her image", "POST", "/api/posts", who="alice", status=201,
            body={"content": "A pixel.", "media_ids": ["{{media_id}}"]},
            tests=[expect("b.media.length).to.eql(1"), save("alice_post_id", "b.id")]),
    request("A post without content (400)", "POST", "/api/posts", who="alice", status=400,
            body={"title": "No body"},
            tests=[expect('b.errors).to.have.property("content"')]),
    request("Schedule a post", "POST", "/api/posts", who="alice", status=201,
            body={"content": "Later.", "publish_at": "2099-01-01T00:00:00Z"},
            tests=[expect('b.status).to.eql("scheduled"'), save("scheduled_post_id", "b.id")]),
    request("Scheduled posts", "GET", "/api/users/me/scheduled", who="alice",
            tests=[includes_id("scheduled_post_id")]),
    request("A post", "GET", "/api/posts/{{bob_post_id}}", who="alice",
            tests=[expect('b.author.id).to.eql(pm.collectionVariables.get("bob_id")')]),
    request("Edit someone else's post (403)", "PATCH", "/api/posts/{{bob_post_id}}",
            who="alice", status=403, body={"content": "Mine now"},
            tests=[expect('b.code).to.eql("permission_denied"')]),
    request("Edit the post", "PATCH", "/api/posts/{{bob_post_id}}", who="bob",
            body={"content": "Hello again #rookery{{run}} from @" + ALICE},
            tests=[expect("b.edited).to.eql(true")]),
    request("Its history", "GET", "/api/posts/{{bob_post_id}}/history",
            tests=[expect("b.results.length).to.eql(1"),
                   expect('b.results[0].content).to.include("Hello #rookery"')]),
    request("Alice's feed", "GET", "/api/feed?limit=10", who="alice",
            tests=[includes_id("bob_post_id"), includes_id("alice_post_id")]),
    request("Posts by bob", "GET", "/api/posts?author={{bob_id}}",
            tests=[includes_id("bob_post_id")]),
    request("Search by hashtag", "GET", "/api/posts/search?hashtag=%23Rookery{{run}}",
            tests=[includes_id("bob_post_id")]),
    request("Search by words", "GET", "/api/posts/search?q=hello%20again",
            tests=[expect("b.results).to.be.an(\"array\"")]),
    request("Trending hashtags", "GET", "/api/hashtags/trending?limit=5",
            tests=[expect("b.results).to.be.an(\"array\"")]),
    request("Bob's posts", "GET", "/api/users/{{bob_id}}/posts",
            tests=[includes_id("bob_post_id")]),
])

likes = folder("6. Likes and comments", "Likes, likers, comments and their permissions.", [
    request("Like (201)", "POST", "/api/posts/{{bob_post_id}}/like", who="alice", status=201,
            tests=[expect("b.like_count).to.eql(1"), expect("b.liked_by_me).to.eql(true")]),
    request("Like again (200)", "POST", "/api/posts/{{bob_post_id}}/like", who="alice",
            tests=[expect("b.like_count).to.eql(1")]),
    request("Who liked it", "GET", "/api/posts/{{bob_post_id}}/likes",
            tests=[includes_id("alice_id")]),
    request("Posts alice liked", "GET", "/api/users/me/liked", who="alice",
            tests=[includes_id("bob_post_id")]),
    request("Unlike", "DELETE", "/api/posts/{{bob_post_id}}/like", who="alice",
            tests=[expect("b.like_count).to.eql(0"), expect("b.liked_by_me).to.eql(false")]),
    request("Like once more", "POST", "/api/posts/{{bob_post_id}}/like", who="alice", status=201),
    request("Comment", "POST", "/api/posts/{{bob_post_id}}/comments", who="alice", status=201,
            body={"content": "Lovely!"},
            tests=[expect('b.post_id).to.eql(pm.collectionVariables.get("bob_post_id")'),
                   save("comment_id", "b.id")]),
    request("An empty comment (400)", "POST", "/api/posts/{{bob_post_id}}/comments",
            who="alice", status=400, body={"content": "   "},
            tests=[expect('b.errors).to.have.property("content"')]),
    request("The comments", "GET", "/api/posts/{{bob_post_id}}/comments",
            tests=[includes_id("comment_id")]),
    request("Edit someone else's comment (403)", "PATCH", "/api/comments/{{comment_id}}",
            who="bob", status=403, body={"content": "Changed"}),
    request("Edit the comment", "PATCH", "/api/comments/{{comment_id}}", who="alice",
            body={"content": "Lovely indeed!"},
            tests=[expect('b.content).to.eql("Lovely indeed!"')]),
])

notifications = folder("7. Notifications and activity", "What reached bob; what alice did.", [
    request("Bob's notifications", "GET", "/api/notifications", who="bob",
            tests=["const kinds = b.results.map(function (n) { return n.type; });",
                   expect('kinds).to.include.members(["follow", "like", "comment"]')]),
    request("Unread count", "GET", "/api/notifications/unread-count", who="bob",
            tests=[expect("b.count).to.be.above(0")]),
    request("Mark all read", "POST", "/api/notifications/read", who="bob", status=204, body={}),
    request("Unread count after", "GET", "/api/notifications/unread-count", who="bob",
            tests=[expect("b.count).to.eql(0")]),
    request("Alice's activity", "GET", "/api/activity?action=post.create", who="alice",
            tests=[expect("b.results.length).to.be.above(0"),
                   expect('b.results[0].action).to.eql("post.create"')]),
])

groups = folder("8. Groups", "Public and private groups, members, shared posts.", [
    request("Create a public group", "POST", "/api/groups", who="alice", status=201,
            body={"name": "Birdwatchers {{run}}", "visibility": "public"},
            tests=[expect('b.role).to.eql("owner"'), save("group_id", "b.id")]),
    request("Create a private group", "POST", "/api/groups", who="alice", status=201,
            body={"name": "Secret {{run}}", "visibility": "private"},
            tests=[save("private_group_id", "b.id")]),
    request("Groups", "GET", "/api/groups?mine=true", who="alice",
            tests=[includes_id("group_id"), includes_id("private_group_id")]),
    request("A group", "GET", "/api/groups/{{group_id}}",
            tests=[expect("b.members.length).to.eql(1")]),
    request("Bob joins", "POST", "/api/groups/{{group_id}}/join", who="bob",
            tests=[expect("b.is_member).to.eql(true"), expect("b.member_count).to.eql(2")]),
    request("Bob joins the private group (403)", "POST",
            "/api/groups/{{private_group_id}}/join", who="bob", status=403),
    request("Members", "GET", "/api/groups/{{group_id}}/members",
            tests=["const ids = b.results.map(function (m) { return m.user.id; });",
                   expect('ids).to.include(pm.collectionVariables.get("bob_id")')]),
    request("Bob shares his post", "POST", "/api/groups/{{group_id}}/share", who="bob",
            status=201, body={"post_id": "{{bob_post_id}}"}),
    request("The group's posts", "GET", "/api/groups/{{group_id}}/posts",
            tests=[includes_id("bob_post_id")]),
    request("Bob edits the group (403)", "PATCH", "/api/groups/{{group_id}}", who="bob",
            status=403, body={"description": "Mine"}),
    request("Alice edits the group", "PATCH", "/api/groups/{{group_id}}", who="alice",
            body={"description": "Binoculars ready."},
            tests=[expect('b.description).to.eql("Binoculars ready."')]),
    request("Alice adds bob to the private group", "POST",
            "/api/groups/{{private_group_id}}/members", who="alice", status=201,
            body={"user_id": "{{bob_id}}"}, tests=[expect('b.role).to.eql("member"')]),
    request("Alice removes him", "DELETE",
            "/api/groups/{{private_group_id}}/members/{{bob_id}}", who="alice", status=204),
    request("Bob leaves", "POST", "/api/groups/{{group_id}}/leave", who="bob",
            tests=[expect("b.is_member).to.eql(false")]),
    request("Delete the private group", "DELETE", "/api/groups/{{private_group_id}}",
            who="alice", status=204),
])

moderation = folder("9. Moderation and analytics", "Reports, roles, account status, analytics.", [
    request("Report a post", "POST", "/api/posts/{{bob_post_id}}/report", who="alice",
            status=201, body={"reason": "spam", "details": "Just testing."},
            tests=[expect('b.status).to.eql("open"'), save("report_id", "b.id")]),
    request("Reports, as a user (403)", "GET", "/api/reports", who="alice", status=403),
    request("Open reports", "GET", "/api/reports?status=open", who="admin",
            tests=[includes_id("report_id")]),
    request("Dismiss the report", "PATCH", "/api/reports/{{report_id}}", who="admin",
            body={"status": "dismissed"}, tests=[expect('b.status).to.eql("dismissed"')]),
    request("Analytics of bob's post", "GET", "/api/posts/{{bob_post_id}}/analytics", who="bob",
            tests=[expect("b.likes).to.eql(1"), expect("b.comments).to.eql(1"),
                   expect("b.daily).to.be.an(\"array\"")]),
    request("Analytics, not the author (403)", "GET", "/api/posts/{{bob_post_id}}/analytics",
            who="alice", status=403),
    request("Make bob a moderator", "PATCH", "/api/users/{{bob_id}}/role", who="admin",
            body={"role": "moderator"}, tests=[expect('b.role).to.eql("moderator"')]),
    request("Change a role, not an admin (403)", "PATCH", "/api/users/{{alice_id}}/role",
            who="alice", status=403, body={"role": "admin"}),
    request("Account status", "PATCH", "/api/users/{{alice_id}}/status", who="admin",
            body={"disabled": False}),
    request("Every account (admin)", "GET", "/api/users?limit=100", who="admin",
            tests=[includes_id("alice_id")]),
])

blocks = folder("10. Blocks", "Blocking ends follows and stops interaction.", [
    request("Alice blocks bob", "POST", "/api/users/{{bob_id}}/block", who="alice", status=201,
            tests=[expect("b.is_blocked).to.eql(true"), expect("b.is_following).to.eql(false")]),
    request("Alice's blocks", "GET", "/api/users/me/blocks", who="alice",
            tests=[includes_id("bob_id")]),
    request("Bob follows alice (403 blocked)", "POST", "/api/users/{{alice_id}}/follow",
            who="bob", status=403, tests=[expect('b.code).to.eql("blocked"')]),
    request("Unblock", "DELETE", "/api/users/{{bob_id}}/block", who="alice", status=204),
    request("Unfollow (204 even when not following)", "DELETE", "/api/users/{{bob_id}}/follow",
            who="alice", status=204),
])

lifecycle = folder("11. Clean-up and account lifecycle",
                   "Deletes, password reset and change, sessions, logout, account deletion.", [
    request("Post author deletes the comment", "DELETE", "/api/comments/{{comment_id}}",
            who="bob", status=204),
    request("Delete the scheduled post", "DELETE", "/api/posts/{{scheduled_post_id}}",
            who="alice", status=204),
    request("Delete someone else's media (403)", "DELETE", "/api/media/{{media_id}}",
            who="bob", status=403),
    request("Delete the media", "DELETE", "/api/media/{{media_id}}", who="alice", status=204),
    request("Remove the avatar", "DELETE", "/api/users/me/avatar", who="alice",
            tests=[expect("b.avatar_url).to.eql(null")]),
    request("Forgot the password (202)", "POST", "/api/auth/password/forgot", status=202,
            body={"email": ALICE + "@example.com"}),
    outbox_token("alice", "reset_token", "reset"),
    request("Reset the password", "POST", "/api/auth/password/reset",
            body={"token": "{{reset_token}}", "new_password": "{{new_password}}"}),
    request("The old token no longer works (401)", "GET", "/api/users/me", who="alice",
            status=401),
    login("alice", "alice", password="{{new_password}}"),
    request("Change the password back", "POST", "/api/auth/password/change", who="alice",
            status=204, body={"old_password": "{{new_password}}", "new_password": "{{password}}"}),
    login("alice", "alice"),
    login("alice", "alice2"),
    request("Find the other session", "GET", "/api/auth/sessions", who="alice",
            tests=["const other = b.results.find(function (s) { return !s.current; });",
                   expect("other).to.be.an(\"object\""), save("other_session_id", "other.id")]),
    request("Revoke it", "DELETE", "/api/auth/sessions/{{other_session_id}}", who="alice",
            status=204),
    request("Its token stops working (401)", "GET", "/api/users/me", who="alice2", status=401),
    request("Bob logs out", "POST", "/api/auth/logout", who="bob", status=204),
    request("Bob's token stops working (401)", "GET", "/api/users/me", who="bob", status=401),
    request("Alice logs out everywhere", "POST", "/api/auth/logout-all", who="alice", status=204),
    login("alice", "alice"),
    request("Delete the account with a wrong password (400)", "DELETE", "/api/users/me",
            who="alice", status=400, body={"password": "not-my-password"},
            tests=[expect('b.errors).to.have.property("password"')]),
    request("Delete the account", "DELETE", "/api/users/me", who="alice", status=204,
            body={"password": "{{password}}"}),
    login("alice", "alice", status=401),
])

collection = {
    "info": {
        "_postman_id": "5b0c8a57-6f0e-4c59-9d2e-7a1f3c2b9e10",
        "name": "Rookery",
        "description": (
            "Every resource of the Rookery API, in an order that runs top to bottom against "
            "a local stack (`make run`, or `make e2e` which runs it with newman).\n\n"
            "Set `base_url`, `admin_login` and `admin_password` in the environment "
            "(`rookery.postman_environment.json`); create the admin with "
            "`cargo run -- create-admin --username admin --email admin@example.com "
            "--password ...`. Verification and reset tokens are read from "
            "`GET /api/dev/outbox`, which exists only when `email.dev_outbox` is on (as in "
            "`config/development.toml`); without it, open the `.eml` files in `var/mail/`.\n\n"
            "Generated by `postman/build.py`: edit that, then `make postman`."
        ),
        "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json",
    },
    "variable": [{"key": key, "value": ""} for key in (
        "run", "password", "new_password", "alice_id", "bob_id", "alice_access",
        "alice_refresh", "alice2_access", "bob_access", "admin_access", "media_id", "media_url",
        "bob_post_id", "alice_post_id", "scheduled_post_id", "comment_id", "group_id",
        "private_group_id", "report_id", "other_session_id", "alice_verify_token",
        "bob_verify_token", "reset_token", "outbox_tries")],
    "item": [setup, accounts, social, media, posts, likes, notifications, groups, moderation,
             blocks, lifecycle],
}

write(collection, OUT)
