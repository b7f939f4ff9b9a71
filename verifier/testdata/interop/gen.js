#!/usr/bin/env node
// Runs passport-authtkt (npm, pinned in package.json / package-lock.json) on a
// list of jobs and prints the results. Used by vectors.py (which writes
// vectors.json) and by TestInteropLive in ../../interop_test.go. The package
// must be resolvable: gen.sh installs it into a temporary directory and sets
// NODE_PATH.
//
// stdin: JSON array of jobs:
//   {"op":"sign", "digest":"MD5", "encoding":"raw"|"base64", "secret":...,
//    "ip":"1.2.3.4", "ignore_ip":bool, "ts":int, "uid":..., "tokens":"a,b",
//    "data":..., "encode_user_data":bool (default false)}
//   {"op":"validate", "digest":"MD5", "secret":..., "ip":..., "ignore_ip":bool,
//    "cookie":<raw ticket>}
// stdout: JSON array, one object per job, in order:
//   sign:     {"generator":..., "cookie":...}
//   validate: {"generator":..., "ok":bool, "uid", "tokens", "data", "ts"}
//
// passport-authtkt only implements MD5. Its default IP is 0.0.0.0, so for
// ignore_ip jobs no "ip" option is passed. "raw" is createTicket(), "base64"
// is getCookie(). encodeUserData defaults to true in the library (data is
// stored base64-encoded in the ticket but signed in plain form, which
// mod_auth_tkt cannot verify); jobs use false unless they ask otherwise.
'use strict';

const fs = require('fs');
const path = require('path');
const AuthTkt = require('passport-authtkt').AuthTkt;

function pkgVersion() {
  const main = require.resolve('passport-authtkt');
  let dir = path.dirname(main);
  for (;;) {
    const p = path.join(dir, 'package.json');
    if (fs.existsSync(p)) {
      const pkg = JSON.parse(fs.readFileSync(p, 'utf8'));
      if (pkg.name === 'passport-authtkt') return pkg.version;
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error('passport-authtkt package.json not found');
    dir = up;
  }
}

const generator = 'node passport-authtkt ' + pkgVersion();

function options(job) {
  const o = { encodeUserData: !!job.encode_user_data };
  if (!job.ignore_ip) o.ip = job.ip;
  return o;
}

const jobs = JSON.parse(fs.readFileSync(0, 'utf8'));
const out = jobs.map((job) => {
  if ((job.digest || 'MD5') !== 'MD5') throw new Error('passport-authtkt supports MD5 only');
  const op = job.op || 'sign';
  const at = new AuthTkt(job.secret, options(job));
  if (op === 'sign') {
    const o = {
      tokens: job.tokens ? job.tokens.split(',') : [],
      userData: job.data,
      timestamp: job.ts,
    };
    let cookie;
    if (job.encoding === 'raw') cookie = at.createTicket(job.uid, o);
    else if (job.encoding === 'base64') cookie = at.getCookie(job.uid, o);
    else throw new Error('unknown encoding ' + job.encoding);
    return { generator, cookie };
  }
  if (op === 'validate') {
    // No timeout option, so the timestamp is not checked. validateTicket
    // logs parse errors with console.error (stderr).
    const d = at.validateTicket(job.cookie);
    if (!d) return { generator, ok: false };
    return {
      generator,
      ok: true,
      uid: d.userid,
      tokens: d.tokens.join(','),
      data: d.userData,
      ts: d.timestamp,
    };
  }
  throw new Error('unknown op ' + op);
});
process.stdout.write(JSON.stringify(out) + '\n');
