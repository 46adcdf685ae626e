// The copy of the cached access token that index.js keeps so that a cache hit costs no call
// into Rust (issue 17): it must never serve a token the core would not. Each test reads the
// token twice first (the second read is served from the copy), then changes the core's cache
// behind the copy's back and checks that the next accessToken() follows the core.
import { test } from 'node:test'
import assert from 'node:assert/strict'

import { ZohoError } from '../index.mjs'
import { withMock } from './helpers.mjs'

// Clients on the wall clock (no `clock` option): only these keep a copy; on the mock's virtual
// clock the core hands out copies that are never fresh by Date.now().
const wallClock = { clock: undefined }

async function cachedTwice(c) {
  const t = await c.accessToken()
  assert.equal(await c.accessToken(), t, 'the second call is a cache hit')
  return t
}

test('after invalidate() the copy is not served: the next call refreshes', () =>
  withMock(async ({ client, refreshes }) => {
    const c = client(wallClock)
    const first = await cachedTwice(c)
    assert.equal(await c.invalidate(first), true)
    const second = await c.accessToken()
    assert.notEqual(second, first)
    assert.equal(refreshes(), 2)
    assert.equal(await c.accessToken(), second)
  }))

test('after a forced refresh the copy is not served: the new token is', () =>
  withMock(async ({ client }) => {
    const c = client(wallClock)
    const first = await cachedTwice(c)
    const forced = await c.tokenSet({ force: true })
    assert.notEqual(forced.accessToken, first)
    assert.equal(await c.accessToken(), forced.accessToken)
  }))

test('after a 401 inside a request the copy of the dead token is not served', () =>
  withMock(async ({ mock, client, refreshes }) => {
    const c = client(wallClock)
    const dead = await cachedTwice(c)
    const revoked = await fetch(`${mock.baseUrl}/oauth/v2/token/revoke`, { method: 'POST', body: new URLSearchParams({ token: dead }) })
    assert.equal(revoked.status, 200)
    assert.equal((await c.get('/crm/v8/Leads')).status, 200, 'refreshed and retried in the core')
    assert.equal(refreshes(), 2)
    assert.notEqual(await c.accessToken(), dead)
  }))

test('after revoke() the copy is not served: accessToken() fails like the core', () =>
  withMock(async ({ client }) => {
    const c = client(wallClock)
    await cachedTwice(c)
    await c.revoke()
    await assert.rejects(c.accessToken(), (e) => e instanceof ZohoError && e.code === 'invalid_code')
  }))

test('on a virtual clock a jump past expires_at - refreshMargin refreshes at once', () =>
  withMock(async ({ mock, client, refreshes }) => {
    const c = client()
    const first = await cachedTwice(c)
    mock.advanceClock(3600 - 299)
    const second = await c.accessToken()
    assert.notEqual(second, first, 'inside the margin on the mock clock: refreshed')
    assert.equal(refreshes(), 2)
  }))

test('an AbortSignal bypasses the copy and still answers from the cache', () =>
  withMock(async ({ client, refreshes }) => {
    const c = client(wallClock)
    const first = await cachedTwice(c)
    assert.equal(await c.accessToken({ signal: new AbortController().signal }), first)
    assert.equal(refreshes(), 1)
  }))
