// Checks the hand-written declarations (index.d.ts, testing.d.ts) against the implementation:
// every runtime export of index.js, index.mjs, testing.js and testing.mjs is declared and every
// declared value exists at runtime; the same for the members (static, prototype and instance)
// of every exported class, read from real instances made against the fake Zoho; and the
// `ErrorCode` and `ErrorFamily` unions list exactly the core's codes and families.
//
//   node check-types.mjs        (the test command runs it; exit status 1 with a list on drift)
//
// Declarations are parsed with the TypeScript 5 compiler API (TypeScript 7 has no stable API
// yet). Members whose name starts with `_` are internal by convention and not declared.
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'

const require = createRequire(import.meta.url)
const ts = require('typescript5')
const here = (f) => fileURLToPath(new URL(f, import.meta.url))

/** The entry points: declarations, CommonJS implementation, ESM entry. */
export const ENTRIES = [
  { dts: 'index.d.ts', cjs: './index.js', esm: './index.mjs' },
  { dts: 'testing.d.ts', cjs: './testing.js', esm: './testing.mjs' },
]
/** Members every `Error` has; declared by TypeScript's lib, not by our files. */
const ERROR_MEMBERS = new Set(['name', 'message', 'stack', 'cause'])
/** Codes of the binding itself, with no core counterpart. */
const BINDING_CODES = ['internal']

const hasModifier = (node, kind) => (ts.canHaveModifiers(node) ? ts.getModifiers(node) ?? [] : []).some((m) => m.kind === kind)
const nameOf = (n) => (n && (ts.isIdentifier(n) || ts.isStringLiteral(n) || ts.isPrivateIdentifier(n)) ? n.text : undefined)

/**
 * Parse one declaration file: its value exports (classes with their members, constants,
 * functions), the keys of its default export and the string literals of its union types.
 */
export function parseDeclarations(text, fileName = 'index.d.ts') {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true)
  const values = new Map()
  const unions = new Map()
  const locals = new Map()
  let defaultName
  for (const st of sf.statements) {
    const exported = hasModifier(st, ts.SyntaxKind.ExportKeyword)
    if (ts.isClassDeclaration(st) && st.name) {
      const cls = { kind: 'class', base: undefined, static: new Map(), instance: new Map() }
      const ext = st.heritageClauses?.find((h) => h.token === ts.SyntaxKind.ExtendsKeyword)
      if (ext) cls.base = ext.types[0].expression.getText(sf)
      for (const m of st.members) {
        if (ts.isConstructorDeclaration(m) || ts.isIndexSignatureDeclaration(m)) continue
        if (hasModifier(m, ts.SyntaxKind.PrivateKeyword) || hasModifier(m, ts.SyntaxKind.ProtectedKeyword)) continue
        const name = nameOf(m.name)
        if (name === undefined) continue
        const kind = ts.isMethodDeclaration(m) ? 'method' : 'property'
        ;(hasModifier(m, ts.SyntaxKind.StaticKeyword) ? cls.static : cls.instance).set(name, kind)
      }
      ;(exported ? values : locals).set(st.name.text, cls)
    } else if (ts.isVariableStatement(st)) {
      for (const d of st.declarationList.declarations) {
        const entry = { kind: 'const', typeKeys: undefined }
        if (d.type && ts.isTypeLiteralNode(d.type)) entry.typeKeys = d.type.members.map((m) => nameOf(m.name)).filter(Boolean)
        ;(exported ? values : locals).set(d.name.getText(sf), entry)
      }
    } else if (ts.isFunctionDeclaration(st) && st.name && exported) {
      values.set(st.name.text, { kind: 'function' })
    } else if (ts.isTypeAliasDeclaration(st) && ts.isUnionTypeNode(st.type)) {
      const literals = st.type.types.filter((t) => ts.isLiteralTypeNode(t) && ts.isStringLiteral(t.literal)).map((t) => t.literal.text)
      unions.set(st.name.text, literals)
    } else if (ts.isExportAssignment(st) && !st.isExportEquals) {
      defaultName = st.expression.getText(sf)
    }
  }
  let defaultKeys
  if (defaultName !== undefined) defaultKeys = (values.get(defaultName) ?? locals.get(defaultName))?.typeKeys ?? []
  // Inherited members of classes declared in the same file.
  for (const cls of values.values()) {
    if (cls.kind !== 'class') continue
    let base = cls.base
    cls.errorLike = false
    while (base !== undefined) {
      if (base === 'Error') {
        cls.errorLike = true
        break
      }
      const parent = values.get(base) ?? locals.get(base)
      if (!parent) break
      for (const [k, v] of parent.instance) if (!cls.instance.has(k)) cls.instance.set(k, v)
      for (const [k, v] of parent.static) if (!cls.static.has(k)) cls.static.set(k, v)
      base = parent.base
    }
  }
  return { values, defaultKeys, unions }
}

/** Members of a runtime class: statics, and the prototype chain plus an instance's own keys. */
export function runtimeMembers(Cls, instance) {
  const statics = new Map()
  for (let c = Cls; c && c !== Function.prototype && c !== Error && c !== Object; c = Object.getPrototypeOf(c)) {
    for (const k of Object.getOwnPropertyNames(c)) {
      if (['length', 'name', 'prototype', 'caller', 'arguments'].includes(k) || statics.has(k)) continue
      statics.set(k, typeof Object.getOwnPropertyDescriptor(c, k).value === 'function' ? 'method' : 'property')
    }
  }
  const members = new Map()
  const stop = new Set([Object.prototype, Error.prototype, Function.prototype])
  for (let p = Cls.prototype; p && !stop.has(p); p = Object.getPrototypeOf(p)) {
    for (const k of Object.getOwnPropertyNames(p)) {
      if (k === 'constructor' || members.has(k)) continue
      const d = Object.getOwnPropertyDescriptor(p, k)
      members.set(k, typeof d.value === 'function' ? 'method' : 'property')
    }
  }
  if (instance !== undefined) for (const k of Object.keys(instance)) if (!members.has(k)) members.set(k, 'property')
  return { statics, members }
}

/** Compare one declaration file with its runtime modules; returns the problems found. */
export function compareEntry(where, decl, cjs, esm, instances) {
  const problems = []
  const runtimeNames = Object.keys(cjs).filter((k) => k !== 'default')
  for (const name of runtimeNames) if (!decl.values.has(name)) problems.push(`${where}: runtime export ${name} is not declared`)
  for (const [name, d] of decl.values) {
    if (name === '_default') continue
    if (!(name in cjs)) {
      problems.push(`${where}: declared ${d.kind} ${name} is not exported at runtime`)
      continue
    }
    if (d.kind === 'class' && typeof cjs[name] !== 'function') problems.push(`${where}: ${name} is declared as a class but is a ${typeof cjs[name]}`)
  }
  const esmNames = Object.keys(esm).filter((k) => k !== 'default')
  for (const n of runtimeNames) if (!esmNames.includes(n)) problems.push(`${where}: the ESM entry does not export ${n}`)
  for (const n of esmNames) {
    if (!runtimeNames.includes(n)) problems.push(`${where}: the ESM entry exports ${n}, the CommonJS one does not`)
    else if (esm[n] !== cjs[n]) problems.push(`${where}: the ESM and CommonJS ${n} are different objects`)
  }
  if (decl.defaultKeys !== undefined) {
    if (esm.default !== cjs && esm.default !== cjs.default) problems.push(`${where}: the ESM default export is not the CommonJS module`)
    const keys = new Set(decl.defaultKeys)
    for (const n of runtimeNames) if (!keys.has(n)) problems.push(`${where}: the default export's type lacks ${n}`)
    for (const n of keys) if (!runtimeNames.includes(n)) problems.push(`${where}: the default export's type has ${n}, the runtime has not`)
  } else if (esm.default !== undefined && cjs.default !== undefined) {
    problems.push(`${where}: a default export exists at runtime but is not declared`)
  }
  for (const [name, d] of decl.values) {
    if (d.kind !== 'class' || typeof cjs[name] !== 'function') continue
    const rt = runtimeMembers(cjs[name], instances.get(name))
    if (!instances.has(name)) problems.push(`${where}: no instance of ${name} to check its members with (add one to the check)`)
    const check = (what, declared, runtime, ignore) => {
      for (const [k, kind] of runtime) {
        if (k.startsWith('_') || ignore.has(k)) continue
        if (!declared.has(k)) problems.push(`${where}: ${name}${what}${k} exists at runtime but is not declared`)
        else if (declared.get(k) !== kind) problems.push(`${where}: ${name}${what}${k} is a ${kind} at runtime but declared as a ${declared.get(k)}`)
      }
      for (const k of declared.keys()) if (!runtime.has(k) && !ignore.has(k)) problems.push(`${where}: declared ${name}${what}${k} does not exist at runtime`)
    }
    check('.', d.static, rt.statics, new Set())
    check('#', d.instance, rt.members, d.errorLike ? ERROR_MEMBERS : new Set())
  }
  return problems
}

/** The unions that mirror the core: `ErrorCode` (plus the binding's own) and `ErrorFamily`. */
export function compareUnions(where, decl, codes) {
  const problems = []
  const same = (name, declared, actual) => {
    if (declared === undefined) return problems.push(`${where}: type ${name} is not a union of string literals`)
    for (const v of actual) if (!declared.includes(v)) problems.push(`${where}: ${name} lacks '${v}'`)
    for (const v of declared) if (!actual.includes(v)) problems.push(`${where}: ${name} has '${v}', which the core does not`)
  }
  same('ErrorCode', decl.unions.get('ErrorCode'), [...codes.map((c) => c.code), ...BINDING_CODES])
  same('ErrorFamily', decl.unions.get('ErrorFamily'), [...new Set(codes.map((c) => c.family))])
  return problems
}

/** One real instance of every exported class, made against the fake Zoho. */
export async function makeInstances(index, testing) {
  const mock = new testing.MockZoho()
  try {
    const app = mock.app()
    const client = mock.client()
    const response = await client.get('/crm/v8/Leads')
    const tokens = await client.tokenSet()
    mock.registerClient({ clientId: '1000.DEVICE', clientSecret: 'device-secret', clientType: 'device' })
    const deviceApp = mock.app({ clientId: '1000.DEVICE', clientSecret: 'device-secret', clientType: 'device' })
    const device = await deviceApp.startDeviceFlow({ scopes: ['ZohoCRM.modules.ALL'] })
    const instances = new Map([
      ['Client', client],
      ['OAuthApp', app],
      ['TokenSet', tokens],
      ['Response', response],
      ['DeviceAuthorization', device],
      ['MockZoho', mock],
    ])
    for (const [name, v] of Object.entries(index)) {
      if (typeof v === 'function' && (v === index.ZohoError || v.prototype instanceof index.ZohoError)) instances.set(name, new v('x'))
    }
    // Lazily created members exist once used.
    void mock.clock
    return { instances, stop: () => mock.stop() }
  } catch (e) {
    mock.stop()
    throw e
  }
}

/** Every problem of every entry point; empty when declarations and implementation agree. */
export async function checkAll({ read = (f) => readFileSync(here(f), 'utf8') } = {}) {
  const loaded = await Promise.all(
    ENTRIES.map(async (e) => ({ ...e, cjsModule: require(e.cjs), esmModule: await import(pathToFileURL(here(e.esm)).href) })),
  )
  const [index, testing] = loaded
  const { instances, stop } = await makeInstances(index.cjsModule, testing.cjsModule)
  try {
    const problems = []
    for (const e of loaded) {
      const decl = parseDeclarations(read(e.dts), e.dts)
      problems.push(...compareEntry(e.dts, decl, e.cjsModule, e.esmModule, instances))
      if (e === index) problems.push(...compareUnions(e.dts, decl, require('./binding.js').errorCodes()))
    }
    return problems
  } finally {
    stop()
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const problems = await checkAll()
  if (problems.length > 0) {
    console.error(`index.d.ts / testing.d.ts and the implementation differ (${problems.length}):`)
    for (const p of problems) console.error(`  - ${p}`)
    process.exit(1)
  }
  console.log('check-types: every runtime export and member is declared, and every declaration exists')
}
