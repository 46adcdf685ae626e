// Runs Zoho's official CRM Node SDK (@zohocrm/nodejs-sdk-8.0, pinned in package.json), unmodified,
// against zoho-mock through the SDK's public configuration only: an Environment with the mock's
// API, accounts and upload URLs, a self-client grant code minted by the mock, a FileStore.
//
//   npm install --no-audit --no-fund          # once, in this folder
//   zoho-mock --port 0                        # prints the base URL
//   node check.mjs http://127.0.0.1:PORT      # or ZOHO_MOCK_URL=http://127.0.0.1:PORT node check.mjs
//
// It initialises the SDK, looks up the current user and the org, lists Leads, gets one by id,
// creates, updates, searches and deletes one; then the mock's virtual clock passes the token's
// expiry (the mock rejects the old token) and the SDK's own clock follows (node:test's mock
// timers, Date only; the SDK compares expiry against Date), so the SDK refreshes and goes on.
// Every step asserts what it shows; the exit code is 0 only when all pass.

import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { mock } from "node:test";
import * as ZOHOCRMSDK from "@zohocrm/nodejs-sdk-8.0";

const base = (process.argv[2] ?? process.env.ZOHO_MOCK_URL ?? "").replace(/\/$/, "");
if (!base) {
  console.error("usage: node check.mjs http://127.0.0.1:PORT (the URL zoho-mock --port 0 printed)");
  process.exit(2);
}

async function control(route, body) {
  const r = await fetch(`${base}/__mock${route}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.equal(r.status, 200, `control ${route}: ${await r.clone().text()}`);
  return r.json();
}

function step(name) {
  console.log(`- ${name}`);
}

// The SDK's clock: Date only, starting now; timers stay real so HTTP timeouts behave.
mock.timers.enable({ apis: ["Date"], now: Date.now() });

const info = await control("/info");
const minted = await control("/codes", {
  scopes: ["ZohoCRM.modules.ALL", "ZohoCRM.settings.ALL", "ZohoCRM.users.ALL", "ZohoCRM.org.ALL"],
});
const work = fs.mkdtempSync(path.join(os.tmpdir(), "zoho-sdk-check-"));
const tokenFile = path.join(work, "tokens.txt");
fs.writeFileSync(tokenFile, "");

step("initialise: Environment(apiUrl, accountsUrl, fileUploadUrl), grant code, FileStore");
const environment = new ZOHOCRMSDK.Environment(base, `${minted.accounts_server}/oauth/v2/token`, base);
const token = new ZOHOCRMSDK.OAuthBuilder()
  .clientId(info.default_client_id)
  .clientSecret("mock-self-secret")
  .grantToken(minted.code)
  .build();
await (await new ZOHOCRMSDK.InitializeBuilder())
  .environment(environment)
  .token(token)
  .store(new ZOHOCRMSDK.FileStore(tokenFile))
  .SDKConfig(new ZOHOCRMSDK.SDKConfigBuilder().pickListValidation(false).autoRefreshFields(false).build())
  .resourcePath(work)
  .logger(new ZOHOCRMSDK.LogBuilder().level(ZOHOCRMSDK.Levels.ERROR).filePath(path.join(work, "sdk.log")).build())
  .initialize();

/** The response's object, after checking the status code and that it is not an APIException. */
function expectObject(response, status, wrapper) {
  assert.ok(response, "the SDK answered");
  const object = response.getObject();
  if (object && typeof object.getCode === "function" && !(object instanceof wrapper)) {
    assert.fail(`expected ${wrapper.name}, got ${object.constructor.name} ${object.getCode()?.getValue()}: ${object.getMessage()?.getValue?.() ?? object.getMessage()}`);
  }
  assert.equal(response.getStatusCode(), status);
  assert.ok(object instanceof wrapper, `expected ${wrapper.name}, got ${object?.constructor?.name}`);
  return object;
}

step("current user");
const userParams = new ZOHOCRMSDK.ParameterMap();
await userParams.add(ZOHOCRMSDK.Users.GetUsersParam.TYPE, "CurrentUser");
const users = expectObject(await new ZOHOCRMSDK.Users.UsersOperations().getUsers(userParams), 200, ZOHOCRMSDK.Users.ResponseWrapper);
assert.equal(users.getUsers()[0].getEmail(), info.default_user);

step("org");
const org = expectObject(await new ZOHOCRMSDK.Org.OrgOperations().getOrganization(), 200, ZOHOCRMSDK.Org.ResponseWrapper);
assert.match(String(org.getOrg()[0].getId()), /^\d+$/);

const Record = ZOHOCRMSDK.Record;
const leads = new Record.RecordOperations("Leads");

async function listLeads() {
  const params = new ZOHOCRMSDK.ParameterMap();
  await params.add(Record.GetRecordsParam.FIELDS, "Last_Name,Email,Company");
  return expectObject(await leads.getRecords(params, new ZOHOCRMSDK.HeaderMap()), 200, Record.ResponseWrapper).getData();
}

step("list Leads");
const listed = await listLeads();
assert.ok(listed.length >= 1, "the mock starts with Leads");
const first = listed[0];

step("get one Lead by id");
const one = expectObject(await leads.getRecord(first.getId()), 200, Record.ResponseWrapper).getData()[0];
assert.equal(one.getId(), first.getId());
assert.equal(one.getKeyValue("Last_Name"), first.getKeyValue("Last_Name"));

/** The single SuccessResponse of a write, with its details map. */
function success(response, status) {
  const action = expectObject(response, status, Record.ActionWrapper).getData()[0];
  assert.ok(action instanceof Record.SuccessResponse, `expected SuccessResponse, got ${action.constructor.name} ${action.getCode?.()?.getValue()}`);
  return action.getDetails();
}

step("create a Lead");
const created = new Record.Record();
created.addFieldValue(Record.Field.Leads.LAST_NAME, "Sdk-Check");
created.addFieldValue(Record.Field.Leads.FIRST_NAME, "Node");
created.addKeyValue("Email", "sdk-check@example.com");
const createBody = new Record.BodyWrapper();
createBody.setData([created]);
const newId = success(await leads.createRecords(createBody, new ZOHOCRMSDK.HeaderMap()), 201).get("id");
assert.match(String(newId), /^\d+$/);

step("update it");
const change = new Record.Record();
change.addKeyValue("Company", "Zylker Updated");
const updateBody = new Record.BodyWrapper();
updateBody.setData([change]);
success(await leads.updateRecord(BigInt(newId), updateBody, new ZOHOCRMSDK.HeaderMap()), 200);
const updated = expectObject(await leads.getRecord(BigInt(newId)), 200, Record.ResponseWrapper).getData()[0];
assert.equal(updated.getKeyValue("Company"), "Zylker Updated");

step("search for it");
const searchParams = new ZOHOCRMSDK.ParameterMap();
await searchParams.add(Record.SearchRecordsParam.CRITERIA, "((Last_Name:equals:Sdk-Check)and(Company:starts_with:Zylker))");
const found = expectObject(await leads.searchRecords(searchParams, new ZOHOCRMSDK.HeaderMap()), 200, Record.ResponseWrapper).getData();
assert.deepEqual(found.map((r) => String(r.getId())), [String(newId)]);

step("delete it");
success(await leads.deleteRecord(BigInt(newId), new ZOHOCRMSDK.ParameterMap(), new ZOHOCRMSDK.HeaderMap()), 200);
const gone = await leads.getRecord(BigInt(newId));
assert.equal(gone.getStatusCode(), 400, "a deleted id is INVALID_DATA");

step("the mock's clock passes the token's expiry: the old token is refused");
const refreshesBefore = (await control("/counters")).token_requests.refresh_token?.success ?? 0;
await control("/clock/advance", { seconds: 3700 });
const stale = await leads.getRecords(null, null);
assert.equal(stale.getStatusCode(), 401);
assert.equal(stale.getObject().getCode().getValue(), "INVALID_TOKEN");

step("the SDK's clock follows: it refreshes and goes on");
mock.timers.tick(3700 * 1000);
const after = await listLeads();
assert.equal(after.length, listed.length);
const refreshesAfter = (await control("/counters")).token_requests.refresh_token?.success ?? 0;
assert.equal(refreshesAfter, refreshesBefore + 1, "exactly one refresh");

fs.rmSync(work, { recursive: true, force: true });
console.log("sdk-check: Zoho's CRM Node SDK 8.0 ran unmodified against zoho-mock");
