#!/usr/bin/env node
// Drives passport-authtkt 0.0.2 behind Express's cookie-parser 1.4.7 (both
// pinned in package.json / package-lock.json) on a list of jobs and prints
// the results. Used by vectors.py (which writes vectors.json) and by the
// live tests in ../../passport_test.go. The packages must be
// resolvable: gen.sh and the live test npm-install them into a temporary
// directory and set NODE_PATH.
//
// stdin: JSON array of jobs; byte strings travel as hex ("..._hex"), read
// as latin-1 strings (as Node reads HTTP headers).
//   {"op":"sign", "secret", "options": {encodeUserData, jsonUserData, ip},
//    "uid", "tokens": [..], "data": string or (jsonUserData) any JSON value,
//    "ts"}
//      -> {"cookie": getCookie(...), "express": the Set-Cookie value
//          Express's res.cookie writes (encodeURIComponent)}
//   {"op":"authenticate", "secret", "options": {...Strategy options},
//    "now": float seconds, "ts": refresh timestamp, "header_hex"}
//      The Cookie header goes through cookie-parser into a fresh
//      Strategy('secret', options).authenticate(req, {now, timestamp: ts});
//      then the response's 'header' event fires, as Express does.
//      -> {"ok": true, "uid", "tokens": [..], "data": string, or JSON text
//          (JSON.stringify) under jsonUserData, "ts", "refresh": the
//          cookie value the Strategy sets, or null}
//       | {"ok": false} | {"ok": false, "raised": "..."}
//   {"op":"craft", "secret", "ip", "ts", "ts_text", "uid", "tokens": string or null
//    (null: no tokens part), "digest_data": string, "ticket_data": string}
//      -> {"cookie"}: a ticket assembled from AuthTkt's own createDigest
//         over uid, tokens and digest_data, with ticket_data written in
//         the data part, base64-encoded (getCookie's encoding). For
//         tickets createTicket cannot write but validateTicket accepts.
//   {"op":"b64", "s": string} -> {"out_hex"}: Buffer.from(s, 'base64')
//   {"op":"uri", "s_hex"} -> {"ok", "units": [..]}: decodeURIComponent
//   {"op":"json", "s_hex", "utf8": bool} -> {"ok", "out_hex" (UTF-8)}:
//      JSON.stringify(JSON.parse(s)), s read as latin-1 (or UTF-8)
//   {"op":"cookie", "header_hex", "name"} -> {"value": string or null}:
//      cookie-parser's req.cookies[name]
//   {"op":"parseint", "s"} -> {"value": number or null for NaN}
//
// A fresh Strategy per job matters: splitTicket (authtkt.js:83) copies
// validateTicket's options, `now` included, into the AuthTkt instance, so
// the first `now` would stick.
'use strict';

const fs = require('fs');
const path = require('path');
const authtkt = require('passport-authtkt');
const cookieParser = require('cookie-parser');

function pkgVersion(name) {
  let dir = path.dirname(require.resolve(name));
  for (;;) {
    const p = path.join(dir, 'package.json');
    if (fs.existsSync(p)) {
      const pkg = JSON.parse(fs.readFileSync(p, 'utf8'));
      if (pkg.name === name) return pkg.version;
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(name + ' package.json not found');
    dir = up;
  }
}

const generator = 'node ' + process.version + ' passport-authtkt ' + pkgVersion('passport-authtkt') +
  ', cookie-parser ' + pkgVersion('cookie-parser');

const latin1 = (hex) => Buffer.from(hex, 'hex').toString('latin1');

function sign(job) {
  const at = new authtkt.AuthTkt(job.secret, job.options || {});
  const o = { tokens: job.tokens || [], userData: job.data, timestamp: job.ts };
  const cookie = at.getCookie(job.uid, o);
  return { cookie, express: encodeURIComponent(cookie) };
}

function craft(job) {
  const at = new authtkt.AuthTkt(job.secret, { ip: job.ip });
  const data1 = at.inetAton(job.ip).concat(at.packTimestamp(job.ts));
  const digest = at.createDigest(data1, job.uid + '\0' + (job.tokens || '') + '\0' + job.digest_data);
  let ticket = digest + job.ts_text + job.uid + '!';
  if (job.tokens !== null) ticket += job.tokens + '!';
  ticket += job.ticket_data;
  return { cookie: at.base64Encode(ticket) };
}

function authenticate(job) {
  const strategy = new authtkt.Strategy(job.secret, job.options || {});
  const handlers = {};
  let refresh = null;
  let cleared = false;
  const res = {
    on(ev, fn) { handlers[ev] = fn; },
    cookie(name, value) { refresh = value; },
    clearCookie() { cleared = true; },
  };
  const req = { headers: { cookie: latin1(job.header_hex) }, res };
  res.req = req;
  cookieParser()(req, res, () => {});
  let result = { ok: false };
  strategy.success = (user, info) => {
    req.authInfo = info;
    result = { ok: true, info };
  };
  strategy.fail = () => { result = { ok: false }; };
  try {
    strategy.authenticate(req, { now: job.now, timestamp: job.ts });
    if (handlers.header) handlers.header();
  } catch (e) {
    return { ok: false, raised: String(e) };
  }
  if (!result.ok) return { ok: false, cleared };
  const d = result.info;
  return {
    ok: true,
    uid: d.userid,
    tokens: d.tokens,
    data: typeof d.userData === 'string' && !(job.options || {}).jsonUserData ? d.userData : JSON.stringify(d.userData),
    ts: d.timestamp,
    refresh,
  };
}

function jsonCanon(job) {
  const buf = Buffer.from(job.s_hex, 'hex');
  const s = job.utf8 ? buf.toString('utf8') : buf.toString('latin1');
  try {
    return { ok: true, out_hex: Buffer.from(JSON.stringify(JSON.parse(s)), 'utf8').toString('hex') };
  } catch (e) {
    return { ok: false };
  }
}

function uri(job) {
  try {
    const s = decodeURIComponent(latin1(job.s_hex));
    const units = [];
    for (let i = 0; i < s.length; i++) units.push(s.charCodeAt(i));
    return { ok: true, units };
  } catch (e) {
    return { ok: false };
  }
}

function cookie(job) {
  const req = { headers: { cookie: latin1(job.header_hex) } };
  cookieParser()(req, {}, () => {});
  const v = req.cookies[job.name];
  return { value: v === undefined ? null : v };
}

const ops = {
  sign,
  craft,
  authenticate,
  json: jsonCanon,
  uri,
  cookie,
  b64: (job) => ({ out_hex: Buffer.from(job.s, 'base64').toString('hex') }),
  parseint: (job) => {
    const n = parseInt(job.s, 16);
    return { value: Number.isNaN(n) ? null : n };
  },
};

const jobs = JSON.parse(fs.readFileSync(0, 'utf8'));
const out = jobs.map((job) => Object.assign(ops[job.op](job), { generator }));
process.stdout.write(JSON.stringify(out) + '\n');
