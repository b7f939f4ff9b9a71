#!/usr/bin/python3
"""Drive Pyramid's AuthTktCookieHelper (and the Python pieces it is made of)
on a list of jobs and print the results. Used by vectors.py (which writes
vectors.json) and by the live tests in ../../pyramid_test.go.

Must run under the Debian interpreter (/usr/bin/python3), which sees the apt
packages python3-pyramid and python3-webob.

stdin: JSON array of jobs; every byte string travels as hex ("..._hex").
  {"op": "remember", "secret", "hashalg", "include_ip": bool,
   "remote_addr", "now": int, "uid_type": "str"|"bytes"|"int",
   "uid_hex", "tokens": [..]}
      -> {"cookie_hex"}: the cookie value of the Set-Cookie header that
         AuthTktCookieHelper.remember() returns (time forced to "now").
  {"op": "identify", "secret", "hashalg", "include_ip", "remote_addr",
   "timeout": int|null, "reissue_time": int|null, "now": float,
   "cookie_name", "header_hex"}
      -> {"ok": true, "uid_type", "uid_hex", "tokens": [..], "userdata_hex",
          "timestamp", "reissue_hex": cookie value or null}
       | {"ok": false}                 identify returned None
       | {"ok": false, "raised": "..."}   identify (or WebOb) raised
         A real Request is built with HTTP_COOKIE = the header (latin-1) and
         REMOTE_ADDR; reissued tickets are dated int(now).
  {"op": "craft", "secret", "hashalg", "ip", "ts_text", "uid_text",
   "tokens": str or null (no tokens part), "data", "quote": bool}
      -> {"cookie_hex"}: a ticket assembled around pyramid's own
         calculate_digest(ip, int(ts_text, 16), secret, unquote(uid_text),
         tokens, data, hashalg) -- what parse_ticket checks -- for tickets
         AuthTicket cannot write; WebOb-quoted (_value_quote) if "quote".
  {"op": "pyint", "s_hex", "base", "bytes": bool} -> {"ok", "value"} int(s, base)
  {"op": "unquote", "s_hex"} -> {"out_hex"} urllib.parse.unquote(s)
  {"op": "b64decode", "s_hex", "bytes": bool} -> {"ok", "out_hex"}
  {"op": "utf8dec", "s_hex"} -> {"ok", "out_hex"} codecs.utf_8_decode(b)
  {"op": "cookies", "header_hex", "name"} -> {"ok", "value_hex" or null}
      webob RequestCookies(environ).get(name)
  {"op": "value_quote", "s_hex"} -> {"out_hex"} webob.cookies._value_quote
  {"op": "unicode"} -> {"digit_zeros": [..], "spaces": [..]}: the code points
      of every decimal digit zero, and of every non-ASCII str.isspace()
      character, in this Python's Unicode database (what int() knows)
"""

import base64
import binascii
import codecs
import importlib.metadata
import json
import sys
import warnings
from urllib.parse import unquote

from pyramid import authentication as pyr
from pyramid.request import Request
from webob import Response
from webob import cookies as wc

GENERATOR = "python pyramid %s AuthTktCookieHelper, WebOb %s" % (
    importlib.metadata.version("pyramid"),
    importlib.metadata.version("webob"),
)


def unhex(s):
    return bytes.fromhex(s)


def helper_for(job):
    h = pyr.AuthTktCookieHelper(
        job["secret"],
        cookie_name=job.get("cookie_name", "auth_tkt"),
        include_ip=job.get("include_ip", False),
        timeout=job.get("timeout"),
        reissue_time=job.get("reissue_time"),
        hashalg=job.get("hashalg", "sha512"),
    )
    when = job["now"]

    def ticket(*a, **kw):
        kw["time"] = int(when)
        return pyr.AuthTicket(*a, **kw)

    h.AuthTicket = ticket
    h.now = when
    return h


def request_for(job, header=None):
    env = {"REMOTE_ADDR": job.get("remote_addr", "0.0.0.0")}
    if header is not None:
        env["HTTP_COOKIE"] = header.decode("latin-1")
    return Request.blank("/", environ=env)


def cookie_value(headers, name):
    vals = []
    for k, v in headers:
        assert k == "Set-Cookie", k
        prefix = name + "="
        assert v.startswith(prefix), v
        vals.append(v[len(prefix):].split(";", 1)[0])
    # One Set-Cookie per domain; all carry the same value.
    assert len(set(vals)) == 1, vals
    return vals[0].encode("latin-1").hex()


def typed_uid(job):
    raw = unhex(job["uid_hex"])
    t = job["uid_type"]
    if t == "str":
        return raw.decode("utf-8")
    if t == "bytes":
        return raw
    if t == "int":
        return int(raw.decode("ascii"))
    raise ValueError(t)


def describe_uid(u):
    if isinstance(u, bool):
        raise ValueError("bool uid")
    if isinstance(u, int):
        return "int", str(u).encode("ascii").hex()
    if isinstance(u, bytes):
        return "bytes", u.hex()
    return "str", u.encode("utf-8", "surrogatepass").hex()


def op_remember(job):
    h = helper_for(job)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        headers = h.remember(request_for(job), typed_uid(job), tokens=job.get("tokens", []))
    return {"cookie_hex": cookie_value(headers, h.cookie_name)}


def op_identify(job):
    h = helper_for(job)
    req = request_for(job, unhex(job["header_hex"]))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ident = h.identify(req)
    except Exception as e:  # Pyramid would answer 500
        return {"ok": False, "raised": "%s: %s" % (type(e).__name__, e)}
    if ident is None:
        return {"ok": False}
    reissue = None
    if req.response_callbacks:
        resp = Response()
        for cb in list(req.response_callbacks):
            cb(req, resp)
        got = [(k, v) for k, v in resp.headerlist if k == "Set-Cookie"]
        if got:
            reissue = cookie_value(got, h.cookie_name)
    t, u = describe_uid(ident["userid"])
    return {
        "ok": True,
        "uid_type": t,
        "uid_hex": u,
        "tokens": ident["tokens"],
        "userdata_hex": ident["userdata"].encode("utf-8", "surrogatepass").hex(),
        "timestamp": ident["timestamp"],
        "reissue_hex": reissue,
    }


def op_craft(job):
    ts = int(job["ts_text"], 16)
    tokens = job["tokens"]
    digest = pyr.calculate_digest(
        job["ip"], ts, job["secret"], unquote(job["uid_text"]), tokens or "", job["data"], job["hashalg"]
    )
    ticket = digest + job["ts_text"] + job["uid_text"] + "!"
    if tokens is not None:
        ticket += tokens + "!"
    ticket += job["data"]
    raw = ticket.encode("utf-8")
    if job.get("quote"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw = wc._value_quote(raw)
    return {"cookie_hex": raw.hex()}


def op_pyint(job):
    raw = unhex(job["s_hex"])
    s = raw if job.get("bytes") else raw.decode("utf-8")
    try:
        return {"ok": True, "value": str(int(s, job["base"]))}
    except ValueError:
        return {"ok": False}


def op_unquote(job):
    return {"out_hex": unquote(unhex(job["s_hex"]).decode("utf-8")).encode("utf-8", "surrogatepass").hex()}


def op_b64decode(job):
    raw = unhex(job["s_hex"])
    s = raw if job.get("bytes") else raw.decode("utf-8")
    try:
        return {"ok": True, "out_hex": base64.b64decode(s).hex()}
    except (ValueError, binascii.Error):
        return {"ok": False}


def op_utf8dec(job):
    try:
        out, _ = codecs.utf_8_decode(unhex(job["s_hex"]))
    except UnicodeDecodeError:
        return {"ok": False}
    return {"ok": True, "out_hex": out.encode("utf-8").hex()}


def op_cookies(job):
    env = {"HTTP_COOKIE": unhex(job["header_hex"]).decode("latin-1")}
    try:
        v = wc.RequestCookies(env).get(job["name"])
    except Exception as e:
        return {"ok": False, "raised": "%s: %s" % (type(e).__name__, e)}
    return {"ok": True, "value_hex": None if v is None else v.encode("utf-8").hex()}


def op_value_quote(job):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {"out_hex": wc._value_quote(unhex(job["s_hex"])).hex()}


def op_unicode(job):
    import unicodedata

    zeros = [c for c in range(sys.maxunicode + 1) if unicodedata.decimal(chr(c), -1) == 0]
    for z in zeros:  # every zero starts a run of ten
        assert all(unicodedata.decimal(chr(z + i), -1) == i for i in range(10))
    digits = sum(1 for c in range(sys.maxunicode + 1) if chr(c).isdecimal())
    assert digits == 10 * len(zeros)
    spaces = [c for c in range(128, sys.maxunicode + 1) if chr(c).isspace()]
    return {"digit_zeros": zeros, "spaces": spaces, "unidata_version": unicodedata.unidata_version}


OPS = {
    "remember": op_remember,
    "identify": op_identify,
    "craft": op_craft,
    "pyint": op_pyint,
    "unquote": op_unquote,
    "b64decode": op_b64decode,
    "utf8dec": op_utf8dec,
    "cookies": op_cookies,
    "value_quote": op_value_quote,
    "unicode": op_unicode,
}


def main():
    jobs = json.load(sys.stdin)
    out = []
    for job in jobs:
        r = OPS[job["op"]](job)
        r["generator"] = GENERATOR
        out.append(r)
    json.dump(out, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
