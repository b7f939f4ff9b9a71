#!/usr/bin/python3
"""Run the Python auth_tkt generators on a list of jobs and print the results.

Must run under the Debian interpreter (/usr/bin/python3), which sees the apt
packages python3-paste and python3-pyramid. Used by vectors.py (which writes
vectors.json) and by TestInteropLive in ../../interop_test.go.

stdin: JSON array of jobs:
  {"op": "sign", "lib": "paste" | "pyramid" | "pyramid-remember",
   "digest": "MD5" | "SHA256" | "SHA512", "encoding": ...,
   "secret": ..., "ip": "1.2.3.4", "ignore_ip": bool, "ts": int,
   "uid": ..., "tokens": "a,b", "data": ...}
  {"op": "validate", "lib": "paste" | "pyramid", "digest": ..., "secret": ...,
   "ip": ..., "ignore_ip": bool, "cookie": <raw ticket>}

Encodings:
  paste:            "raw" = AuthTicket.cookie_value();
                    "python-cookie" = the value AuthTicket.cookie() puts in
                    Set-Cookie (on Python 3 it is str() of a bytes object).
  pyramid:          "raw" = pyramid.authentication.AuthTicket.cookie_value().
  pyramid-remember: "set-cookie" = the cookie value in the Set-Cookie header
                    that AuthTktCookieHelper.remember() returns (uid is
                    base64-encoded by pyramid, data is "userid_type:...",
                    include_ip=False so the IP is 0.0.0.0).

stdout: JSON array, one object per job, in order:
  sign:     {"generator", "cookie", "signed": {"uid", "tokens", "data", "ip"}}
            where "signed" is what the generator fed into the digest.
  validate: {"generator", "ok", "uid", "tokens", "data", "ts"} or
            {"generator", "ok": false, "error"}
"""

import hashlib
import importlib.metadata
import json
import sys
import warnings

from paste.auth import auth_tkt as paste_tkt
from pyramid import authentication as pyr

HASHLIB = {"MD5": hashlib.md5, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}
HASHNAME = {"MD5": "md5", "SHA256": "sha256", "SHA512": "sha512"}


def version(dist):
    return importlib.metadata.version(dist)


GEN_PASTE = "python paste.auth.auth_tkt (Paste %s)" % version("paste")
GEN_PYRAMID = "python pyramid.authentication.AuthTicket (pyramid %s)" % version("pyramid")
GEN_REMEMBER = "python pyramid AuthTktCookieHelper.remember (pyramid %s, WebOb %s)" % (
    version("pyramid"),
    version("webob"),
)


def ip_of(job):
    return "0.0.0.0" if job.get("ignore_ip") else job["ip"]


def token_list(tokens):
    return [t for t in tokens.split(",")] if tokens else []


def text(b):
    return b.decode("utf-8") if isinstance(b, bytes) else b


def sign(job):
    lib = job.get("lib", "paste")
    enc = job["encoding"]
    if lib == "paste":
        t = paste_tkt.AuthTicket(
            job["secret"],
            job["uid"],
            ip_of(job),
            tokens=token_list(job["tokens"]),
            user_data=job["data"],
            time=job["ts"],
            digest_algo=HASHLIB[job["digest"]],
        )
        if enc == "raw":
            cookie = text(t.cookie_value())
        elif enc == "python-cookie":
            cookie = t.cookie()[t.cookie_name].coded_value
        else:
            raise ValueError("paste: unknown encoding %r" % enc)
        signed = {"uid": t.userid, "tokens": t.tokens, "data": t.user_data, "ip": t.ip}
        return {"generator": GEN_PASTE, "cookie": cookie, "signed": signed}
    if lib == "pyramid":
        if enc != "raw":
            raise ValueError("pyramid: unknown encoding %r" % enc)
        t = pyr.AuthTicket(
            job["secret"],
            job["uid"],
            ip_of(job),
            tokens=token_list(job["tokens"]),
            user_data=job["data"],
            time=job["ts"],
            hashalg=HASHNAME[job["digest"]],
        )
        signed = {"uid": t.userid, "tokens": t.tokens, "data": t.user_data, "ip": t.ip}
        return {"generator": GEN_PYRAMID, "cookie": t.cookie_value(), "signed": signed}
    if lib == "pyramid-remember":
        if enc != "set-cookie" or not job.get("ignore_ip"):
            raise ValueError("pyramid-remember: want encoding set-cookie and ignore_ip")
        from pyramid.testing import DummyRequest

        helper = pyr.AuthTktCookieHelper(job["secret"], hashalg=HASHNAME[job["digest"]])
        made = []

        def ticket(*a, **kw):
            t = pyr.AuthTicket(*a, time=job["ts"], **kw)
            made.append(t)
            return t

        helper.AuthTicket = ticket
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            headers = helper.remember(DummyRequest(), job["uid"], tokens=token_list(job["tokens"]))
        (name, value), = headers
        assert name == "Set-Cookie", name
        prefix = helper.cookie_name + "="
        assert value.startswith(prefix), value
        cookie = value[len(prefix):].split(";", 1)[0]
        t = made[0]
        signed = {"uid": text(t.userid), "tokens": t.tokens, "data": t.user_data, "ip": t.ip}
        return {"generator": GEN_REMEMBER, "cookie": cookie, "signed": signed}
    raise ValueError("unknown lib %r" % lib)


def validate(job):
    lib = job.get("lib", "paste")
    try:
        if lib == "paste":
            gen = GEN_PASTE
            ts, uid, tokens, data = paste_tkt.parse_ticket(
                job["secret"].encode("utf-8"),
                job["cookie"].encode("utf-8"),
                ip_of(job),
                digest_algo=HASHLIB[job["digest"]],
            )
        elif lib == "pyramid":
            gen = GEN_PYRAMID
            ts, uid, tokens, data = pyr.parse_ticket(
                job["secret"], job["cookie"], ip_of(job), HASHNAME[job["digest"]]
            )
        else:
            raise ValueError("unknown lib %r" % lib)
    except (paste_tkt.BadTicket, pyr.BadTicket) as e:
        return {"generator": gen, "ok": False, "error": str(e)}
    return {
        "generator": gen,
        "ok": True,
        "uid": text(uid),
        "tokens": ",".join(text(x) for x in tokens),
        "data": text(data),
        "ts": ts,
    }


def main():
    jobs = json.load(sys.stdin)
    out = []
    for job in jobs:
        op = job.get("op", "sign")
        if op == "sign":
            out.append(sign(job))
        elif op == "validate":
            out.append(validate(job))
        else:
            raise ValueError("unknown op %r" % op)
    json.dump(out, sys.stdout, ensure_ascii=False, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
