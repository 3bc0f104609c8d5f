#!/usr/bin/env python3
"""Writes realworld.postman_collection.json: every endpoint of the RealWorld (Conduit) API
that Rookery serves under /realworld/api, run top to bottom, each request with Postman
tests on its status, its envelope and the fields RealWorld front ends read, and checks that
what one API wrote the other shows.

Edit this file, not the JSON: `make postman` rewrites it, and `make realworld` fails when
the committed collection differs from what this script writes.

Variables: `APIURL` (e.g. http://127.0.0.1:8080/realworld/api), `base_url` (the native
API's root, e.g. http://127.0.0.1:8080) and `PASSWORD`. Accounts must be able to sign in
right after registering: run the service with `auth.require_email_verification = false`
(scripts/realworld.sh does). Names carry a per-run suffix, so the collection can run again
against the same database.
"""

import json
from pathlib import Path

from collection import events, folder, json_body, write

HERE = Path(__file__).resolve().parent
OUT = HERE / "realworld.postman_collection.json"

TIMESTAMP = r"/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+Z$/"


def request(name, method, path, *, who=None, body=None, status=200, tests=(), pre=(),
            headers=(), base="{{APIURL}}", scheme="Token"):
    """One request. `who` is alice, bob or None (anonymous); `tests` are JavaScript
    lines run after the status check, with `b` the parsed JSON body."""
    scripts = events(status, tests, pre)
    header = [{"key": key, "value": value} for key, value in headers]
    if who:
        header.append({"key": "Authorization", "value": f"{scheme} {{{{{who}_token}}}}"})
    req = {"auth": {"type": "noauth"}, "method": method, "header": header, "url": base + path}
    if body is not None:
        header.append({"key": "Content-Type", "value": "application/json"})
        req["body"] = json_body(json.dumps(body, indent=2))
    return {"name": name, "event": scripts, "request": req}


def expect(expr):
    """`expr` goes on from `pm.expect(` to the end of the assertion."""
    return f"pm.expect({expr};"


def save(var, expr):
    return f'pm.collectionVariables.set("{var}", {expr});'


def var(name):
    return f'pm.collectionVariables.get("{name}")'


def errors_name(field):
    """A RealWorld error body naming `field`."""
    return [expect(f'b.errors["{field}"]).to.be.an("array").that.is.not.empty')]


def user_fields(who):
    return [
        expect(f'b.user.username).to.eql("{who}_" + {var("run")})'),
        expect(f'b.user.email).to.eql("{who}_" + {var("run")} + "@example.com")'),
        expect('b.user).to.have.all.keys("username", "email", "token", "bio", "image")'),
    ]


def article_fields():
    return [
        expect('b.article).to.include.all.keys("slug", "title", "description", "body", '
               '"tagList", "createdAt", "updatedAt", "favorited", "favoritesCount", "author")'),
        expect(f'b.article.createdAt).to.match({TIMESTAMP})'),
        expect(f'b.article.updatedAt).to.match({TIMESTAMP})'),
        expect('b.article.author).to.have.all.keys("username", "bio", "image", "following")'),
    ]


def slugs():
    return "b.articles.map(function (a) { return a.slug; })"


ALICE = "alice_{{run}}"
BOB = "bob_{{run}}"

users = folder("1. Users", "Registration, sign-in, the current user and its changes.", [
    request("Register alice", "POST", "/users", status=201,
            pre=['pm.collectionVariables.set("run", Date.now().toString(36));'],
            body={"user": {"username": ALICE, "email": f"{ALICE}@example.com",
                           "password": "{{PASSWORD}}"}},
            tests=user_fields("alice") + [
                expect('b.user.token).to.be.a("string")'),
                expect("b.user.bio).to.be.null"),
                expect("b.user.image).to.be.null"),
                save("alice_token", "b.user.token")]),
    request("Register bob", "POST", "/users", status=201,
            body={"user": {"username": BOB, "email": f"{BOB}@example.com",
                           "password": "{{PASSWORD}}"}},
            tests=user_fields("bob") + [save("bob_token", "b.user.token")]),
    request("Register a taken username and email (422)", "POST", "/users", status=422,
            body={"user": {"username": ALICE, "email": f"{ALICE}@example.com",
                           "password": "{{PASSWORD}}"}},
            tests=errors_name("username") + errors_name("email")),
    request("Register without an email (422)", "POST", "/users", status=422,
            body={"user": {"username": "carol_{{run}}", "password": "{{PASSWORD}}"}},
            tests=errors_name("email")),
    request("Register with a body that is not JSON (422)", "POST", "/users", status=422,
            body="not an object", tests=[expect("b.errors).to.be.an(\"object\")")]),
    request("Log in", "POST", "/users/login",
            body={"user": {"email": f"{ALICE}@example.com", "password": "{{PASSWORD}}"}},
            tests=user_fields("alice") + [save("alice_token", "b.user.token")]),
    request("Log in with a wrong password (401)", "POST", "/users/login", status=401,
            body={"user": {"email": f"{ALICE}@example.com", "password": "not-the-password"}},
            tests=errors_name("email or password")),
    request("The current user", "GET", "/user", who="alice",
            tests=user_fields("alice") + [expect(f'b.user.token).to.eql({var("alice_token")})')]),
    request("The current user, with a Bearer token", "GET", "/user", who="alice",
            scheme="Bearer", tests=user_fields("alice")),
    request("The current user, signed out (401)", "GET", "/user", status=401,
            tests=[expect('b.errors).to.be.an("object")')]),
    request("Update the user", "PUT", "/user", who="alice",
            body={"user": {"bio": "I like to skateboard",
                           "image": "https://example.com/alice.png"}},
            tests=[expect('b.user.bio).to.eql("I like to skateboard")'),
                   expect('b.user.image).to.eql("https://example.com/alice.png")')]),
    request("Update the user with an image that is not a URL (422)", "PUT", "/user",
            who="alice", status=422, body={"user": {"image": "javascript:alert(1)"}},
            tests=errors_name("image")),
    request("The native API shows the same account", "GET", "/api/users/me", who="alice",
            scheme="Bearer", base="{{base_url}}",
            tests=[expect(f'b.username).to.eql("alice_" + {var("run")})'),
                   expect('b.bio).to.eql("I like to skateboard")')]),
])

profiles = folder("2. Profiles", "Profiles and follows.", [
    request("Bob's profile, signed out", "GET", f"/profiles/{BOB}",
            tests=[expect(f'b.profile.username).to.eql("bob_" + {var("run")})'),
                   expect("b.profile.following).to.be.false"),
                   expect("b.profile.bio).to.be.null")]),
    request("Follow bob", "POST", f"/profiles/{BOB}/follow", who="alice",
            tests=[expect("b.profile.following).to.be.true")]),
    request("Bob's profile, as alice", "GET", f"/profiles/{BOB}", who="alice",
            tests=[expect("b.profile.following).to.be.true")]),
    request("Follow yourself (422)", "POST", f"/profiles/{ALICE}/follow", who="alice",
            status=422, tests=[expect('b.errors).to.be.an("object")')]),
    request("A profile that does not exist (404)", "GET", "/profiles/nobody_{{run}}",
            status=404),
])

articles = folder("3. Articles", "Articles (Rookery posts), lists, the feed and favourites.", [
    request("Bob writes an article", "POST", "/articles", who="bob", status=201,
            body={"article": {"title": "How to train your dragon {{run}}",
                              "description": "Ever wonder how?",
                              "body": "You have to believe.",
                              "tagList": ["training", "dragons{{run}}"]}},
            tests=article_fields() + [
                expect(f'b.article.tagList).to.eql(["dragons" + {var("run")}, "training"])'),
                expect("b.article.favorited).to.be.false"),
                expect("b.article.favoritesCount).to.eql(0)"),
                expect(f'b.article.author.username).to.eql("bob_" + {var("run")})'),
                save("slug", "b.article.slug"),
                save("post_id", 'b.article.slug.split("-").pop()')]),
    request("Write an article without a title (422)", "POST", "/articles", who="bob",
            status=422, body={"article": {"description": "d", "body": "b"}},
            tests=errors_name("title")),
    request("Write an article signed out (401)", "POST", "/articles", status=401,
            body={"article": {"title": "t", "description": "d", "body": "b"}}),
    request("The article, signed out", "GET", "/articles/{{slug}}",
            tests=article_fields() + [expect('b.article.body).to.eql("You have to believe.")')]),
    request("The native API shows it as a post", "GET", "/api/posts/{{post_id}}",
            base="{{base_url}}",
            tests=[expect(f'b.title).to.eql("How to train your dragon " + {var("run")})'),
                   expect('b.content).to.eql("You have to believe.")')]),
    request("Alice's feed has it", "GET", "/articles/feed", who="alice",
            tests=[expect(f'{slugs()}).to.include({var("slug")})'),
                   expect('b.articlesCount).to.be.a("number")'),
                   expect("b.articles[0]).to.not.have.property(\"body\")")]),
    request("The feed, signed out (401)", "GET", "/articles/feed", status=401),
    request("Articles by tag", "GET", "/articles?tag=dragons{{run}}",
            tests=[expect(f'{slugs()}).to.eql([{var("slug")}])'),
                   expect("b.articlesCount).to.eql(1)")]),
    request("Articles by author", "GET", f"/articles?author={BOB}",
            tests=[expect(f'{slugs()}).to.eql([{var("slug")}])')]),
    request("All articles, one per page", "GET", "/articles?limit=1&offset=0",
            tests=[expect("b.articles.length).to.eql(1)"),
                   expect("b.articlesCount).to.be.at.least(1)")]),
    request("A limit out of range (422)", "GET", "/articles?limit=0", status=422,
            tests=errors_name("limit")),
    request("Bob edits the article", "PUT", "/articles/{{slug}}", who="bob",
            body={"article": {"body": "With all your heart."}},
            tests=[expect('b.article.body).to.eql("With all your heart.")'),
                   expect(f'b.article.slug).to.eql({var("slug")})')]),
    request("Alice may not edit it (403)", "PUT", "/articles/{{slug}}", who="alice",
            status=403, body={"article": {"body": "Mine now."}}),
    request("Alice favourites it", "POST", "/articles/{{slug}}/favorite", who="alice",
            tests=[expect("b.article.favorited).to.be.true"),
                   expect("b.article.favoritesCount).to.eql(1)")]),
    request("Articles alice favourited", "GET", f"/articles?favorited={ALICE}",
            tests=[expect(f'{slugs()}).to.eql([{var("slug")}])')]),
    request("Alice unfavourites it", "DELETE", "/articles/{{slug}}/favorite", who="alice",
            tests=[expect("b.article.favorited).to.be.false"),
                   expect("b.article.favoritesCount).to.eql(0)")]),
    request("An article that does not exist (404)", "GET",
            "/articles/no-such-article-0123456789abcdef01234567", status=404),
])

comments = folder("4. Comments and tags", "Comments on an article, and the tags.", [
    request("Alice comments", "POST", "/articles/{{slug}}/comments", who="alice",
            body={"comment": {"body": "Thank you so much!"}},
            tests=[expect('b.comment).to.include.all.keys("id", "body", "createdAt", '
                          '"updatedAt", "author")'),
                   expect(f'b.comment.createdAt).to.match({TIMESTAMP})'),
                   expect(f'b.comment.author.username).to.eql("alice_" + {var("run")})'),
                   save("comment_id", "b.comment.id")]),
    request("An empty comment (422)", "POST", "/articles/{{slug}}/comments", who="alice",
            status=422, body={"comment": {"body": ""}}, tests=errors_name("body")),
    request("The comments", "GET", "/articles/{{slug}}/comments",
            tests=[expect(f'b.comments.map(function (c) {{ return c.id; }})).to.include('
                          f'{var("comment_id")})')]),
    request("Bob comments", "POST", "/articles/{{slug}}/comments", who="bob",
            body={"comment": {"body": "Glad it helped."}},
            tests=[save("bob_comment_id", "b.comment.id")]),
    request("Alice may not delete bob's comment (403)", "DELETE",
            "/articles/{{slug}}/comments/{{bob_comment_id}}", who="alice", status=403),
    request("Alice deletes her comment", "DELETE",
            "/articles/{{slug}}/comments/{{comment_id}}", who="alice", status=204),
    request("The comment is gone", "GET", "/articles/{{slug}}/comments",
            tests=[expect(f'b.comments.map(function (c) {{ return c.id; }})).to.not.include('
                          f'{var("comment_id")})')]),
    request("The tags", "GET", "/tags",
            tests=[expect('b.tags).to.be.an("array")'),
                   expect('b.tags).to.include("training")')]),
])

cleanup = folder("5. Unfollow, delete, CORS", "The way back, and a browser's preflight.", [
    request("Unfollow bob", "DELETE", f"/profiles/{BOB}/follow", who="alice",
            tests=[expect("b.profile.following).to.be.false")]),
    request("Bob deletes the article", "DELETE", "/articles/{{slug}}", who="bob", status=204),
    request("It is gone (404)", "GET", "/articles/{{slug}}", status=404),
    request("A browser's preflight from another origin", "OPTIONS", "/articles", status=200,
            headers=[("Origin", "http://localhost:4100"),
                     ("Access-Control-Request-Method", "POST"),
                     ("Access-Control-Request-Headers", "authorization,content-type")],
            tests=[expect('pm.response.headers.get("Access-Control-Allow-Origin")).to.be.oneOf('
                          '["*", "http://localhost:4100"])')]),
])

collection = {
    "info": {
        "_postman_id": "c1a3e5f7-9b2d-4e6f-8a0c-2d4f6b8e0a13",
        "name": "Rookery: RealWorld API",
        "description": (
            "Every endpoint of the RealWorld (Conduit) API that Rookery serves under "
            "`/realworld/api`, in an order that runs top to bottom (`make realworld` runs it "
            "with newman against a fresh stack).\n\n"
            "Set `APIURL` (e.g. `http://127.0.0.1:8080/realworld/api`), `base_url` (e.g. "
            "`http://127.0.0.1:8080`) and `PASSWORD`. Accounts sign in right after "
            "registering, so the service needs `auth.require_email_verification = false`.\n\n"
            "Generated by `postman/realworld.py`: edit that, then `make postman`."
        ),
        "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json",
    },
    "variable": [{"key": key, "value": ""} for key in (
        "run", "alice_token", "bob_token", "slug", "post_id", "comment_id", "bob_comment_id")],
    "item": [users, profiles, articles, comments, cleanup],
}

write(collection, OUT)
