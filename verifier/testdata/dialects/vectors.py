#!/usr/bin/python3
"""Build vectors.json: fixed tickets minted by the real dialect libraries,
each presented to the real library's request path, whose verdict is
recorded. Run through gen.sh (which installs the npm packages and sets
NODE_PATH). No randomness: the output is reproducible for the same library
versions.

Each vector:
  name, dialect ("passport" | "pyramid"), generator (library versions)
  settings: secret, digest, ignore_ip, ip (client address), timeout,
      passport_plain, passport_json, reissue_time (null: none), cookie_name
  header: the Cookie header (latin-1 text) the library was given
  now: the time (seconds, float) of the check
  library_ok: the library accepted (identify / Strategy.authenticate)
  accept: tktgate must accept; otherwise error names the verifier error.
      accept differs from library_ok only with a "why" (a deliberate
      difference, see passport.go / pyramid.go).
  uid_hex, tokens, data_hex, ts: what the library returned (tktgate must
      return the same: uid as text, or bytes for a b64str user id, or the
      decimal of an int one; data as the JavaScript string / user_data,
      in UTF-8)
  refresh: the cookie value the library sent back (passport's Strategy
      with a timeout; Pyramid's reissue), "" if none; refresh_identical:
      tktgate's AppendRefresh at the same time writes exactly that.
"""

import base64
import json
import os
import subprocess
import sys
from urllib.parse import quote

HERE = os.path.dirname(os.path.abspath(__file__))
TS = 1700000000


def run(cmd, jobs):
    p = subprocess.run(cmd, cwd=HERE, input=json.dumps(jobs).encode(), capture_output=True)
    if p.returncode != 0:
        raise SystemExit("%s failed:\n%s" % (" ".join(cmd), p.stderr.decode()))
    out = json.loads(p.stdout)
    assert len(out) == len(jobs)
    return out


def node(jobs):
    return run(["node", "gen.js"], jobs)


def python(jobs):
    return run(["/usr/bin/python3", "gen.py"], jobs)


def hx(s):
    return s.encode("utf-8").hex()


# ---------------------------------------------------------------- passport

P_SECRET = "passport-secret"

P_CASES = [
    # name, uid, tokens, data (string), json data
    ("tokens-data", "alice", ["admin", "editor"], "Alice Smith", {"name": "Alice Smith", "id": 7, "roles": ["a", "b"]}),
    ("bare", "bob", [], "", {}),
    ("email", "carol@example.com", ["staff"], "x=1&y=2;z", {"1": "one", "b": True, "a": None, "0": 1.5e-7}),
]

P_MODES = [
    ("default", {}),
    ("plain", {"encodeUserData": False}),
    ("json", {"jsonUserData": True}),
    ("plain-json", {"encodeUserData": False, "jsonUserData": True}),
]


def p_settings(opts, ip=None, timeout=3600):
    return {
        "secret": P_SECRET,
        "digest": "MD5",
        "ignore_ip": ip is None,
        "ip": ip or "198.51.100.20",
        "timeout": timeout,
        "passport_plain": opts.get("encodeUserData") is False,
        "passport_json": bool(opts.get("jsonUserData")),
        "reissue_time": None,
        "cookie_name": "authtkt",
    }


def tamper_b64(cookie):
    """Flip a digest character inside the base64 ticket."""
    t = bytearray(base64.b64decode(cookie))
    t[5] = ord("0") if t[5] != ord("0") else ord("1")
    return base64.b64encode(bytes(t)).decode()


def passport_vectors():
    signs, meta = [], []
    for mname, opts in P_MODES:
        for cname, uid, toks, data, jdata in P_CASES:
            d = jdata if opts.get("jsonUserData") else data
            for ip in (None, "192.0.2.7"):
                o = dict(opts)
                if ip:
                    o["ip"] = ip
                signs.append({"op": "sign", "secret": P_SECRET, "options": o, "uid": uid, "tokens": toks, "data": d, "ts": TS})
                meta.append((mname, cname, opts, ip))
    signed = node(signs)

    # Tickets createTicket cannot write but validateTicket accepts.
    crafts = [
        # JSON that JSON.stringify re-serialises differently.
        ("json-noncanonical", {"jsonUserData": True}, "dave", "admin",
         '{"1":[100],"2":0,"b":2,"a":"A","c":"\u00e9\u2713"}',
         base64.b64encode(b'{ "b" : 1.0, "a":"\\u0041", "2":0, "1":[1e2] , "b": 2, "c":"\\u00e9\\u2713"}').decode()),
        # Latin-1 user data: signed as UTF-8 of the decoded characters.
        ("latin1-data", {}, "erin", None, "Z\u00fcrich", base64.b64encode("Z\u00fcrich".encode("latin-1")).decode()),
        # Negative time: jspack packs 0, the number stays -1.
        ("negative-ts", {}, "frank", None, "", ""),
        # parseInt stops at the first non-hex character.
        ("ts-partial", {}, "grace", "a", "x", base64.b64encode(b"x").decode()),
    ]
    craft_jobs, craft_meta = [], []
    for name, opts, uid, toks, dsig, dtk in crafts:
        ts, ts_text = TS, "%08x" % TS
        if name == "negative-ts":
            ts, ts_text = 0, "-0000001"
        if name == "ts-partial":
            ts, ts_text = 0x6553F1, "6553f1zz"
        craft_jobs.append({"op": "craft", "secret": P_SECRET, "ip": "0.0.0.0", "ts": ts, "ts_text": ts_text,
                           "uid": uid, "tokens": toks, "digest_data": dsig, "ticket_data": dtk})
        craft_meta.append((name, opts, ts))
    crafted = node(craft_jobs)

    auth, vecs = [], []

    def add(name, settings, header, now, tsr, expect, why=""):
        opts = {"timeout": settings["timeout"] or None}
        if settings["passport_plain"]:
            opts["encodeUserData"] = False
        if settings["passport_json"]:
            opts["jsonUserData"] = True
        if not settings["ignore_ip"]:
            opts["ip"] = settings["ip"]
        auth.append({"op": "authenticate", "secret": settings["secret"], "options": opts, "now": now, "ts": tsr,
                     "header_hex": header.encode("latin-1").hex()})
        vecs.append(dict(name="passport/" + name, dialect="passport", header=header, now=now, refresh_ts=tsr,
                         expect=expect, why=why, **settings))

    for (mname, cname, opts, ip), s in zip(meta, signed):
        st = p_settings(opts, ip)
        base = "%s/%s%s" % (mname, cname, "/ip" if ip else "")
        good = s["cookie"]
        add(base + "/express", st, "authtkt=" + s["express"], TS + 1.5, TS + 2, None)
        add(base + "/raw-among-others", st, "a=1; authtkt=" + good + "; b=2", TS + 60, TS + 60, None)
        if cname == "tokens-data":
            add(base + "/quoted", st, 'authtkt="' + good + '"', TS + 1, TS + 1, None)
            add(base + "/valid-last-ms", st, "authtkt=" + good, TS + 3599.999, TS + 3600, None)
            add(base + "/expired-at-timeout", st, "authtkt=" + good, TS + 3600, TS + 3600, "ErrExpired")
            add(base + "/no-timeout-old", dict(st, timeout=0), "authtkt=" + good, TS + 10**6, TS + 10**6, None)
            add(base + "/tampered", st, "authtkt=" + tamper_b64(good), TS + 1, TS + 1, "ErrBadDigest")
            add(base + "/other-secret", dict(st, secret="other"), "authtkt=" + good, TS + 1, TS + 1, "ErrBadDigest")
            add(base + "/empty-first", st, "authtkt=; authtkt=" + good, TS + 1, TS + 1, "ErrNoTicket")
            add(base + "/second-ignored", st, "authtkt=" + tamper_b64(good) + "; authtkt=" + good, TS + 1, TS + 1, "ErrBadDigest")
            add(base + "/url-safe-b64", st, "authtkt=" + good.replace("+", "-").replace("/", "_").rstrip("="), TS + 1, TS + 1, None)
            add(base + "/junk-inside", st, "authtkt=" + good[:10] + "*. " + good[10:], TS + 1, TS + 1, None)
            if ip:
                add(base + "/other-ip", dict(st, ip="192.0.2.8"), "authtkt=" + good, TS + 1, TS + 1, "ErrBadDigest")
            if mname == "default":
                # A pure mod_auth_tkt ticket: data not base64.
                pass
    for (name, opts, ts), c in zip(craft_meta, crafted):
        st = p_settings(opts, None, timeout=0)
        add("crafted/" + name, st, "authtkt=" + c["cookie"], TS + 1, TS + 1, None)
    # The crafted negative time, with a timeout: always expired.
    add("crafted/negative-ts/timeout", p_settings({}, None), "authtkt=" + crafted[2]["cookie"], TS, TS, "ErrExpired")

    results = node(auth)
    out = []
    for v, r in zip(vecs, results):
        expect = v.pop("expect")
        tsr = v.pop("refresh_ts")
        v["generator"] = r["generator"]
        v["library_ok"] = r["ok"]
        v["accept"] = expect is None
        v["error"] = expect or ""
        if r["ok"] != v["accept"]:
            raise SystemExit("passport vector %s: library says %r, expected %r" % (v["name"], r, expect))
        if r["ok"]:
            v["uid_hex"] = hx(r["uid"])
            v["tokens"] = ",".join(r["tokens"])
            v["data_hex"] = hx(r["data"])
            v["ts"] = r["ts"]
            v["refresh"] = r["refresh"] or ""
            v["refresh_time"] = tsr
            # passport's own refresh writes UTF-8 base64 for non-ASCII data,
            # which it then cannot read; tktgate writes latin-1 or \\u.
            v["refresh_identical"] = bool(r["refresh"]) and all(ord(c) < 128 for c in r["data"])
            if r["refresh"] and not v["refresh_identical"]:
                v["why"] = "passport-authtkt refreshes non-ASCII data as UTF-8 base64, which its validateTicket misreads; tktgate writes a form it reads back"
        out.append(v)
    return out


# ----------------------------------------------------------------- pyramid

Y_SECRET = "pyramid-secret"


def y_settings(hashalg="sha512", include_ip=False, ip="203.0.113.5", timeout=None, reissue=None):
    return {
        "secret": Y_SECRET,
        "digest": {"md5": "MD5", "sha256": "SHA256", "sha512": "SHA512"}[hashalg],
        "ignore_ip": not include_ip,
        "ip": ip,
        "timeout": timeout or 0,
        "passport_plain": False,
        "passport_json": False,
        "reissue_time": reissue,
        "cookie_name": "auth_tkt",
    }


def pyramid_vectors():
    rem = [
        # name, uid_type, uid bytes, tokens, hashalg, include_ip, ip
        ("str", "str", b"alice", [], "sha512", False, "203.0.113.5"),
        ("str-utf8-tokens", "str", "j\u00fcrgen@example.com".encode(), ["admin", "editor"], "sha512", False, "203.0.113.5"),
        ("str-md5", "str", b"alice", ["admin"], "md5", False, "203.0.113.5"),
        ("str-sha256", "str", b"bob", ["a", "b", "c"], "sha256", False, "203.0.113.5"),
        ("bytes", "bytes", b"raw\xe9bytes", [], "sha512", False, "203.0.113.5"),
        ("int", "int", b"42", ["admin"], "sha512", False, "203.0.113.5"),
        ("int-negative", "int", b"-7", [], "md5", False, "203.0.113.5"),
        ("include-ip4", "str", b"carol", [], "sha512", True, "203.0.113.5"),
        ("include-ip6", "str", b"dave", ["x"], "sha512", True, "2001:db8::5"),
    ]
    jobs = []
    for name, typ, uid, toks, alg, inc, ip in rem:
        jobs.append({"op": "remember", "secret": Y_SECRET, "hashalg": alg, "include_ip": inc, "remote_addr": ip,
                     "now": TS, "uid_type": typ, "uid_hex": uid.hex(), "tokens": toks})
    made = python(jobs)

    crafts = [
        # name, hashalg, ts_text, uid_text, tokens, data, quote
        ("int-ts-forms", "sha512", " +0x_1f ", "u1", None, "", True),
        ("unicode-digits-ts", "md5", "\u0661\u0667\u0660\u0660\u0660\u0660\u0660\u0660", "u2", "t", "d", True),
        ("quoted-uid", "md5", "%08x" % TS, "al%69ce%20x%ZZ", None, "data with spaces", True),
        ("bad-utf8-escape-uid", "md5", "%08x" % TS, "a%C3b", None, "", False),
        ("markers-chain", "md5", "%08x" % TS, base64.b64encode(b"0123").decode(), None,
         "userid_type:b64str|x|userid_type:int|userid_type:int", False),
        ("marker-unknown", "md5", "%08x" % TS, "zed", None, "userid_type:foo|", False),
        ("marker-unicode-raises", "md5", "%08x" % TS, "zed", None, "userid_type:unicode", False),
        ("marker-bad-b64-raises", "md5", "%08x" % TS, "abcde", None, "userid_type:b64unicode", False),
        ("no-tokens-bang-data", "md5", "%08x" % TS, "u", "", "a!b", True),
        ("data-bang-no-tokens-part", "md5", "%08x" % TS, "u", None, "a!b", True),
        ("bad-token-for-reissue", "md5", "%08x" % TS, "u", "ok,1bad", "", True),
    ]
    cjobs = [{"op": "craft", "secret": Y_SECRET, "hashalg": a, "ip": "0.0.0.0", "ts_text": t, "uid_text": u,
              "tokens": k, "data": d, "quote": q} for _, a, t, u, k, d, q in crafts]
    crafted = python(cjobs)

    idj, vecs = [], []

    def add(name, st, header, now, expect, why=""):
        idj.append({"op": "identify", "secret": st["secret"], "hashalg": st["digest"].lower(), "include_ip": not st["ignore_ip"],
                    "remote_addr": st["ip"], "timeout": st["timeout"] or None, "reissue_time": st["reissue_time"],
                    "now": now, "cookie_name": "auth_tkt", "header_hex": header.hex()})
        vecs.append(dict(name="pyramid/" + name, dialect="pyramid", header=header.decode("latin-1"), now=now,
                         expect=expect, why=why, **st))

    for (name, typ, uid, toks, alg, inc, ip), m in zip(rem, made):
        st = y_settings(alg, inc, ip)
        good = bytes.fromhex(m["cookie_hex"])
        add(name, st, b"auth_tkt=" + good, TS + 1.25, None)
        if name in ("str", "str-utf8-tokens"):
            add(name + "/among-others", st, b"a=1, b=\"x y\"; auth_tkt=" + good + b"; c=2", TS + 1, None)
            add(name + "/last-wins", st, b"auth_tkt=garbage; auth_tkt=" + good, TS + 1, None)
            add(name + "/empty-last", st, b"auth_tkt=" + good + b"; auth_tkt=", TS + 1, "ErrNoTicket")
            add(name + "/timeout-edge", y_settings(alg, inc, ip, timeout=60), b"auth_tkt=" + good, TS + 60, None)
            add(name + "/timeout-past", y_settings(alg, inc, ip, timeout=60), b"auth_tkt=" + good, TS + 60.5, "ErrExpired")
            add(name + "/reissue", y_settings(alg, inc, ip, reissue=10), b"auth_tkt=" + good, TS + 11, None)
            add(name + "/no-reissue-yet", y_settings(alg, inc, ip, reissue=10), b"auth_tkt=" + good, TS + 10, None)
            add(name + "/other-secret", dict(st, secret="other"), b"auth_tkt=" + good, TS + 1, "ErrBadDigest")
            add(name + "/bad-utf8-cookie-elsewhere", st, b"x=\"\\377\"; auth_tkt=" + good, TS + 1, "ErrNoTicket",
                why="WebOb raises UnicodeDecodeError for any cookie that is not UTF-8: Pyramid answers 500")
            t = bytearray(good)
            i = t.index(b"6553f100") - 3
            t[i] = ord("0") if t[i] != ord("0") else ord("1")
            add(name + "/tampered", st, b"auth_tkt=" + bytes(t), TS + 1, "ErrBadDigest")
        if name == "include-ip4":
            add(name + "/other-ip", dict(st, ip="203.0.113.6"), b"auth_tkt=" + good, TS + 1, "ErrBadDigest")
        if name == "int":
            add(name + "/reissue", y_settings(alg, inc, ip, reissue=0), b"auth_tkt=" + good, TS + 0.5, None)
        if name == "bytes":
            add(name + "/reissue", y_settings(alg, inc, ip, reissue=0), b"auth_tkt=" + good, TS + 5, None)

    expect_craft = {
        "bad-utf8-escape-uid": None,
        "marker-unicode-raises": "ErrMalformed",
        "marker-bad-b64-raises": "ErrMalformed",
        "bad-token-for-reissue": None,
        # AuthTicket's own bug: no tokens part, '!' in the data.
        "data-bang-no-tokens-part": "ErrBadDigest",
    }
    for (name, alg, *_), c in zip(crafts, crafted):
        st = y_settings(alg)
        cookie = bytes.fromhex(c["cookie_hex"])
        add("crafted/" + name, st, b"auth_tkt=" + cookie, TS + 1, expect_craft.get(name))
        if name == "bad-token-for-reissue":
            add("crafted/" + name + "/reissue", y_settings(alg, reissue=0), b"auth_tkt=" + cookie, TS + 1, "ErrMalformed")

    results = python(idj)
    out = []
    for v, r in zip(vecs, results):
        expect = v.pop("expect")
        v["generator"] = r["generator"]
        v["library_ok"] = r["ok"]
        v["accept"] = expect is None
        v["error"] = expect or ""
        if r["ok"] != v["accept"]:
            raise SystemExit("pyramid vector %s: library says %r, expected %r" % (v["name"], r, expect))
        if r.get("raised"):
            v["why"] = (v["why"] + "; " if v["why"] else "") + "Pyramid raises " + r["raised"]
        if r["ok"]:
            v["uid_hex"] = r["uid_hex"]
            v["tokens"] = ",".join(r["tokens"])
            v["data_hex"] = r["userdata_hex"]
            v["ts"] = r["timestamp"]
            v["refresh"] = bytes.fromhex(r["reissue_hex"]).decode("latin-1") if r["reissue_hex"] else ""
            v["refresh_time"] = int(v["now"])
            v["refresh_identical"] = bool(r["reissue_hex"])
        out.append(v)
    return out


def main():
    vs = passport_vectors() + pyramid_vectors()
    for v in vs:
        for k in ("uid_hex", "tokens", "data_hex", "ts", "refresh", "refresh_time", "refresh_identical"):
            v.setdefault(k, "" if k not in ("ts", "refresh_time", "refresh_identical") else (False if k == "refresh_identical" else 0))
    with open(os.path.join(HERE, "vectors.json"), "w") as f:
        json.dump(vs, f, indent=1, sort_keys=True, ensure_ascii=True)
        f.write("\n")
    print("wrote %d vectors" % len(vs), file=sys.stderr)


if __name__ == "__main__":
    main()
