#!/usr/bin/python3
"""Build vectors.json: fixed inputs run through the real auth_tkt generators.

Run through gen.sh (which installs passport-authtkt and sets NODE_PATH).
Everything here is fixed: timestamps, secrets, IPs, inputs. No randomness,
so the output is byte-for-byte reproducible for the same generator versions.

Each vector records what the generator was asked (uid, tokens, data as the
generator fed them into the digest; "input" when the call differed), the
cookie value it produced, and what a mod_auth_tkt-compatible verifier must
do with it:

  accept          the cookie verifies (IP = ip, or ignore_ip) and yields
                  exactly uid / tokens / data;
  error           when accept is false: the verifier error expected
                  ("ErrBadDigest" or "ErrMalformed");
  sign_identical  tktgate's Sign (+ base64 for encoding "base64") given the
                  same inputs reproduces the cookie byte for byte;
  why             the reason, whenever accept or sign_identical is false.

The expectations are written from a reading of each generator's source
(see the reasons); interop_test.go checks them against the Go verifier.
"""

import json
import os
import subprocess
import sys
from urllib.parse import quote

HERE = os.path.dirname(os.path.abspath(__file__))

S1 = "secret"
S2 = "cb3e1d39-98eb-4161-8bbd-f4e706999b0e"

# name -> (secret, ip, ignore_ip, ts, uid, tokens, data)
CASES = {
    # The doc vector (docs/auth_tkt.md).
    "tokens-data": (S1, "127.0.0.1", False, 1700000000, "alice", "admin,editor", "Alice Smith"),
    # The doc vector from the mod_auth_tkt README: no tokens, no data.
    "bare": (S2, "192.168.1.1", False, 1108811260, "foobar", "", ""),
    "tokens-only": (S2, "10.0.0.1", False, 1700000000, "carol", "staff", ""),
    "data-only": (S1, "203.0.113.9", False, 1700000001, "dave", "", "Dave D."),
    "data-bang": (S1, "198.51.100.7", False, 1700000002, "erin", "users", "a!b!c"),
    "data-bang-no-tokens": (S1, "198.51.100.7", False, 1700000003, "frank", "", "x!y"),
    "utf8": (S2, "172.16.5.4", False, 1700000004, "jürgen", "a,b", "Zürich ✓"),
    # The client IP at verification is 192.0.2.55; the ticket is signed
    # with 0.0.0.0.
    "ignore-ip": (S1, "192.0.2.55", True, 1700000005, "grace", "admin", "g"),
    # ts above 2^31; uid with '@'.
    "email-ts2038": (S2, "127.0.0.1", False, 4000000000, "henry@example.com", "", ""),
    "empty-uid": (S1, "127.0.0.1", False, 1700000006, "", "", "anon"),
}
ALL = list(CASES)
CORE = ["tokens-data", "bare", "data-bang", "data-bang-no-tokens", "utf8", "ignore-ip"]


# How each generator was told to sign with 0.0.0.0 (ignore_ip vectors).
IGNORE_IP_CALL = {
    "perl": "ticket(ignore_ip => 1) without ip_addr: the generator substitutes 0.0.0.0",
    "paste": "0.0.0.0 passed as the ip argument (paste has no ignore-IP option)",
    "pyramid": "0.0.0.0 passed as the ip argument",
    "pyramid-remember": "AuthTktCookieHelper(include_ip=False), the default: 0.0.0.0",
    "node": "no ip option: passport-authtkt defaults to 0.0.0.0",
}


def job(base, digest, encoding, **extra):
    secret, ip, ignore_ip, ts, uid, tokens, data = CASES[base]
    j = {
        "op": "sign",
        "case": base,
        "digest": digest,
        "encoding": encoding,
        "secret": secret,
        "ip": ip,
        "ignore_ip": ignore_ip,
        "ts": ts,
        "uid": uid,
        "tokens": tokens,
        "data": data,
    }
    j.update(extra)
    return j


def perl_jobs():
    jobs = []
    jobs += [job(c, "MD5", "base64") for c in ALL]
    for d in ("SHA256", "SHA512"):
        jobs += [job(c, d, "base64") for c in CORE]
    jobs += [job(c, "MD5", "raw") for c in ("tokens-data", "bare", "data-bang", "utf8")]
    jobs += [job("tokens-data", d, "raw") for d in ("SHA256", "SHA512")]
    # ticket() strips whitespace around commas in tokens.
    j = job("tokens-data", "MD5", "base64", case="tokens-spaces")
    j["tokens"] = "admin , editor,\tstaff"
    jobs.append(j)
    return jobs


def paste_jobs():
    jobs = [job(c, "MD5", "raw", lib="paste") for c in ALL]
    for d in ("SHA256", "SHA512"):
        jobs += [job(c, d, "raw", lib="paste") for c in ("tokens-data", "bare", "utf8", "ignore-ip")]
    jobs.append(job("tokens-data", "MD5", "python-cookie", lib="paste"))
    return jobs


def pyramid_jobs():
    jobs = [job("tokens-data", d, "raw", lib="pyramid") for d in ("MD5", "SHA256", "SHA512")]
    jobs.append(job("utf8", "MD5", "raw", lib="pyramid"))
    # remember() with the default policy: SHA512, include_ip=False.
    for uid, tokens in (("alice1", ""), ("alice1", "admin"), ("alice", "admin"), ("alice1", "admin,editor")):
        name = "remember-" + "-".join([uid] + (tokens.split(",") if tokens else []))
        j = job("ignore-ip", "SHA512", "set-cookie", lib="pyramid-remember", case=name)
        j.update(uid=uid, tokens=tokens, data="", ts=1700000007)
        jobs.append(j)
    return jobs


def node_jobs():
    jobs = [job(c, "MD5", "raw") for c in ALL]
    jobs += [job(c, "MD5", "base64") for c in ("tokens-data", "bare", "data-bang", "utf8", "ignore-ip")]
    # The library default encodeUserData: true.
    jobs.append(job("tokens-data", "MD5", "raw", encode_user_data=True, case="encode-user-data"))
    jobs.append(job("tokens-only", "MD5", "raw", encode_user_data=True, case="encode-user-data-empty"))
    return jobs


def run(cmd, jobs):
    inp = json.dumps(jobs, ensure_ascii=False).encode("utf-8")
    res = subprocess.run(cmd, input=inp, stdout=subprocess.PIPE, cwd=HERE, check=True)
    out = json.loads(res.stdout.decode("utf-8"))
    if len(out) != len(jobs):
        sys.exit("%s: %d results for %d jobs" % (cmd, len(out), len(jobs)))
    return out


def expect(j, signed, cookie):
    """Return (accept, error, sign_identical, why) for one generated cookie."""
    lib = j.get("lib", "")
    uid, tokens, data = signed["uid"], signed["tokens"], signed["data"]
    whys = []
    error = None
    if lib == "paste" and j["encoding"] == "python-cookie":
        return (False, "ErrMalformed", False,
                "AuthTicket.cookie() on Python 3 stores str() of a bytes object: the "
                "Set-Cookie value is \"b'<base64>'\"; after stripping the quotes the "
                "lenient base64 decode stops at the apostrophe after 'b', leaving no ticket")
    if lib in ("paste", "pyramid") and quote(uid) != uid:
        whys.append("the generator puts the URL-quoted uid %r in the ticket but signs the "
                    "unquoted %r; mod_auth_tkt checks the digest over the quoted form"
                    % (quote(uid), uid))
        error = "ErrBadDigest"
    if lib == "pyramid-remember":
        if quote(uid) != uid:
            whys.append("remember() base64-encodes the uid to %r and URL-quotes it to %r in "
                        "the ticket but signs %r" % (uid, quote(uid), uid))
            error = "ErrBadDigest"
        if "," in tokens:
            whys.append("WebOb quotes the cookie value because of the ',' in the tokens and "
                        "escapes ',' as \\054, so the ticket no longer carries the signed tokens")
            error = "ErrBadDigest"
    if tokens == "" and "!" in data:
        whys.append("with no tokens the generator writes uid!data, not uid!!data; data %r "
                    "contains '!', so mod_auth_tkt reads %r as the tokens and the digest fails"
                    % (data, data.split("!", 1)[0]))
        error = "ErrBadDigest"
    if j.get("encode_user_data") and data != "":
        whys.append("encodeUserData: true puts base64(data) in the ticket but signs the "
                    "plain data")
        error = "ErrBadDigest"
    if whys:
        return (False, error, False, "; ".join(whys))
    return (True, None, True, None)


def vectors(jobs, results):
    out = []
    for j, r in zip(jobs, results):
        signed = r.get("signed") or {"uid": j["uid"], "tokens": j["tokens"], "data": j["data"]}
        if j["case"] == "tokens-spaces":
            signed = dict(signed, tokens=",".join(t.strip() for t in j["tokens"].split(",")))
        accept, error, same, why = expect(j, signed, r["cookie"])
        lib = j.get("lib")
        v = {
            "name": "%s/%s/%s/%s" % (lib or r["generator"].split()[0], j["digest"], j["encoding"], j["case"]),
            "generator": r["generator"],
            "digest": j["digest"],
            "secret": j["secret"],
            "ip": j["ip"],
            "ignore_ip": j["ignore_ip"],
            "ts": j["ts"],
            "uid": signed["uid"],
            "tokens": signed["tokens"],
            "data": signed["data"],
            "encoding": j["encoding"],
            "cookie": r["cookie"],
            "accept": accept,
        }
        if error:
            v["error"] = error
        v["sign_identical"] = same
        if why:
            v["why"] = why
        call = {}
        for k in ("uid", "tokens", "data"):
            if j[k] != signed[k]:
                call[k] = j[k]
        if j["ignore_ip"]:
            call["ip"] = IGNORE_IP_CALL[lib or r["generator"].split()[0]]
        if r["generator"].startswith("node"):
            call["encodeUserData"] = bool(j.get("encode_user_data"))
        if call:
            v["input"] = call
        out.append(v)
    return out


def main():
    node = os.environ.get("NODE", "node")
    groups = [
        (["perl", "gen.pl"], perl_jobs()),
        (["/usr/bin/python3", "gen.py"], paste_jobs() + pyramid_jobs()),
        ([node, "gen.js"], node_jobs()),
    ]
    all_vectors = []
    for cmd, jobs in groups:
        all_vectors += vectors(jobs, run(cmd, jobs))
    names = [v["name"] for v in all_vectors]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        sys.exit("duplicate vector names: %s" % sorted(dup))
    with open(os.path.join(HERE, "vectors.json"), "w", encoding="utf-8") as f:
        json.dump(all_vectors, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("wrote %d vectors" % len(all_vectors), file=sys.stderr)


if __name__ == "__main__":
    main()
