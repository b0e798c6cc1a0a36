'use strict';
// Email verification and password resets through the JS SDK: Parse.User.requestEmailVerification
// and Parse.User.requestPasswordReset, with the mails caught by a small SMTP sink in this process
// and their links followed.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { Parse, useServer, rejectsWithCode } = require('../helpers/parse');

const PUBLIC = 'http://chronicle.test/parse';

/** Accepts every SMTP message and queues its text. */
function smtpSink() {
  const mails = [];
  const waiting = [];
  const server = net.createServer(socket => {
    let buffer = '';
    let inData = false;
    let data = '';
    socket.write('220 sink ESMTP\r\n');
    socket.on('data', chunk => {
      buffer += chunk.toString('utf8');
      let i;
      while ((i = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            // Undo quoted-printable soft breaks and escapes, should the mail use them.
            const text = /quoted-printable/i.test(data)
              ? data.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)))
              : data;
            const w = waiting.shift();
            if (w) w(text);
            else mails.push(text);
            data = '';
            socket.write('250 accepted\r\n');
          } else {
            data += (line.startsWith('..') ? line.slice(1) : line) + '\r\n';
          }
        } else if (/^DATA/i.test(line)) {
          inData = true;
          socket.write('354 go on\r\n');
        } else if (/^QUIT/i.test(line)) {
          socket.end('221 bye\r\n');
        } else {
          socket.write('250 OK\r\n');
        }
      }
    });
    socket.on('error', () => {});
  });
  return {
    server,
    listen: () => new Promise(resolve => server.listen(0, '127.0.0.1', () => resolve(server.address().port))),
    next: () =>
      mails.length
        ? Promise.resolve(mails.shift())
        : new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error('no mail within 15 s')), 15000);
            waiting.push(text => {
              clearTimeout(timer);
              resolve(text);
            });
          }),
    close: () => new Promise(resolve => server.close(() => resolve())),
  };
}

const sink = smtpSink();
// Filled in once the sink listens, before the server starts (hooks run in order).
const args = [
  '--appName', 'JS Test',
  '--publicServerURL', PUBLIC,
  '--verifyUserEmails',
  '--emailAdapter.smtpHost', '127.0.0.1',
  '--emailAdapter.smtpSecurity', 'none',
  '--emailAdapter.fromAddress', 'noreply@chronicle.test',
];
before(async () => {
  const port = await sink.listen();
  args.push('--emailAdapter.smtpPort', String(port));
});
const ctx = useServer({ before, after }, args);
after(() => sink.close());

/** The mail's link, on the test server. */
function linkIn(mail) {
  const match = mail.match(/http:\/\/chronicle\.test\/parse\S+/);
  assert.ok(match, mail);
  return match[0].replace(PUBLIC, `${ctx.server.url}/parse`);
}

let n = 0;
const unique = name => `${name}${Date.now().toString(36)}${n++}`;

describe('Parse.User emails', () => {
  it('requests a new verification email and verifies through its link', async () => {
    const name = unique('vera');
    const email = `${name}@example.com`;
    const user = new Parse.User({ username: name, password: 'pw-1', email });
    await user.signUp();
    await sink.next();
    // As in Parse Server, the sign-up's answer does not carry it; the user has it.
    await user.fetch({ useMasterKey: true });
    assert.equal(user.get('emailVerified'), false);

    await Parse.User.requestEmailVerification(email);
    const link = linkIn(await sink.next());
    assert.match(link, /\/apps\/[^/]+\/verify_email\?token=[A-Za-z0-9]+&username=/);
    const res = await fetch(link, { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.match(res.headers.get('location'), /verify_email_success\.html/);
    await user.fetch({ useMasterKey: true });
    assert.equal(user.get('emailVerified'), true);

    await rejectsWithCode(Parse.User.requestEmailVerification(email), -1);
    await rejectsWithCode(Parse.User.requestEmailVerification('nobody@example.com'), 205);
  });

  it('requests a password reset and sets the new password through the form', async () => {
    const name = unique('rob');
    const email = `${name}@example.com`;
    await new Parse.User({ username: name, password: 'old-pw', email }).signUp();
    await sink.next();

    await Parse.User.requestPasswordReset(email);
    const link = linkIn(await sink.next());
    const res = await fetch(link, { redirect: 'manual' });
    assert.equal(res.status, 302);
    const form = new URL(res.headers.get('location'));
    assert.equal(form.pathname, '/parse/apps/choose_password');
    const token = form.searchParams.get('token');

    const post = await fetch(`${ctx.server.url}/parse/apps/${ctx.server.appId}/request_password_reset`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: name, token, new_password: 'new-pw' }).toString(),
    });
    assert.equal(post.status, 302);
    assert.match(post.headers.get('location'), /password_reset_success\.html\?username=/);

    const again = await Parse.User.logIn(name, 'new-pw');
    assert.equal(again.get('email'), email);
    await rejectsWithCode(Parse.User.logIn(name, 'old-pw'), 101);
    // An unknown email is answered as a known one.
    await Parse.User.requestPasswordReset('nobody@example.com');
    await rejectsWithCode(Parse.User.requestPasswordReset(''), 204);
  });
});
