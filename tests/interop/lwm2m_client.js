#!/usr/bin/env node
// A third-party LwM2M client (coap-node) against our Device Management service over udp NoSec:
// Bootstrap-Request, bootstrap writes + Bootstrap-Finish, Register, Update, De-register.
// Usage: node lwm2m_client.js <host> <bootstrap-port> <endpoint> [timeout-seconds] [--pause]
// Prints one line per milestone on stdout; exits 0 when all are done, 1 on error, 2 on timeout.
// --pause: after "registered", wait for one line (or EOF) on stdin before Update and De-register,
// so a test can inspect the registered device first.
'use strict';

const CoapNode = require('coap-node');
const SmartObject = require('smartobject');

const DEFAULT_TIMEOUT_S = 20;
const UPDATED_LIFETIME = 600;

function fail(message) {
  console.error(`error: ${message}`);
  process.exit(1);
}

function milestone(...words) {
  console.log(words.join(' '));
}

const args = process.argv.slice(2);
const pause = args.includes('--pause');
const [host, portText, endpoint, timeoutText] = args.filter((a) => a !== '--pause');
const port = Number(portText);
if (!host || !endpoint || !Number.isInteger(port) || port <= 0) {
  fail('usage: node lwm2m_client.js <host> <bootstrap-port> <endpoint> [timeout-seconds] [--pause]');
}
const timeoutS = Number(timeoutText || DEFAULT_TIMEOUT_S);
if (!(timeoutS > 0)) fail(`timeout ${timeoutText} is not a positive number of seconds`);
setTimeout(() => {
  console.error(`error: timeout after ${timeoutS} s`);
  process.exit(2);
}, timeoutS * 1000);

const node = new CoapNode(endpoint, new SmartObject(), { lifetime: 300 });

// coap-node 0.2.5 takes the LwM2M Server URI apart with split(':'), so a URI with a query
// (coap://host:port?aid=..., RFC 7252 section 6, as the service writes it) yields an invalid port and
// the client throws. This replacement of its registerConfigured() parses the URI with WHATWG URL and
// takes the lifetime from the bootstrapped Server object (/1/x/1), as LwM2M requires; everything
// else (Bootstrap-Request, TLV decoding of the writes, Bootstrap-Finish, Register) is the client's.
node.registerConfigured = function registerConfigured(callback) {
  const security = Object.values(this.so.dumpSync('lwm2mSecurity') || {});
  const servers = Object.values(this.so.dumpSync('lwm2mServer') || {});
  const server = servers[0];
  const entry = server && security.find((s) => !s.bootstrapServer && s.shortServerId === server.shortServerId);
  if (!entry) {
    fail(`no LwM2M server after Bootstrap-Finish: security ${JSON.stringify(security)}, ` +
         `server ${JSON.stringify(servers)}`);
  }
  const uri = new URL(entry.lwm2mServerURI);
  if (uri.protocol !== 'coap:') fail(`server URI ${entry.lwm2mServerURI} is not coap:// (NoSec)`);
  this.lifetime = server.lifetime;
  milestone('bootstrapped', entry.lwm2mServerURI, `securityMode=${entry.securityMode}`,
            `lifetime=${server.lifetime}`, `binding=${server.binding}`);
  this.register(uri.hostname, Number(uri.port || 5683), (err, rsp) => {
    if (err) fail(`Register failed: ${err.message}`);
    if (rsp.status !== '2.01') fail(`Register answered ${rsp.status}`);
    if (callback) callback(null, rsp);
  });
};

// coap-node 0.2.5 keeps only the last Location-Path option of the Register response and puts '/rd/'
// in front; a location of several segments (rd/<aid>/<device id>, as RFC 7252 allows and the service
// answers) becomes /rd/<device id>. Hand it every segment after 'rd' so Update and De-register reach it.
const request = node.request;
node.request = function requestKeepingLocation(reqObj, agent, callback) {
  if (typeof agent === 'function') {
    callback = agent;
    agent = undefined;
  }
  return request.call(this, reqObj, agent, (err, rsp) => {
    if (!err && reqObj.pathname === '/rd' && rsp.options) {
      const segments = rsp.options.filter((o) => o.name === 'Location-Path').map((o) => o.value.toString());
      if (segments.length && segments[0] !== 'rd') fail(`Location-Path ${segments.join('/')} is not under rd/`);
      if (segments.length) rsp.headers['Location-Path'] = segments.slice(1).join('/');
    }
    callback(err, rsp);
  });
};

function afterStdinLine(next) {
  if (!pause) return next();
  let done = false;
  const once = () => {
    if (!done) {
      done = true;
      process.stdin.pause();
      next();
    }
  };
  process.stdin.on('data', once);
  process.stdin.on('end', once);
  return undefined;
}

node.on('registered', () => {
  milestone('registered', node.locationPath, `lt=${node.lifetime}`);
  afterStdinLine(updateThenDeregister);
});

function updateThenDeregister() {
  node.update({ lifetime: UPDATED_LIFETIME }, (err, rsp) => {
    if (err) fail(`Update failed: ${err.message}`);
    if (rsp.status !== '2.04') fail(`Update answered ${rsp.status}`);
    milestone('updated', `lt=${UPDATED_LIFETIME}`);
    node.deregister((err2, rsp2) => {
      if (err2) fail(`De-register failed: ${err2.message}`);
      if (rsp2.status !== '2.02') fail(`De-register answered ${rsp2.status}`);
      milestone('deregistered');
      process.exit(0);
    });
  });
}

node.bootstrap(host, port, (err, rsp) => {
  if (err) fail(`Bootstrap-Request failed: ${err.message}`);
  if (rsp.status !== '2.04') fail(`Bootstrap-Request answered ${rsp.status}`);
  milestone('bootstrap-request', rsp.status);
});
