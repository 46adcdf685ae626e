// Kotlin tests of the com.zohooauth bindings, against the fake Zoho (zoho-mock) running inside
// this JVM through MockServer, over real HTTP on 127.0.0.1. Time moves on the mock's virtual
// clock; nothing sleeps for an expiry.
//
// Run: bindings-uniffi/test-kotlin.sh (compiles this file with the generated bindings, then runs
// it with plain `java`). It prints one line per test and closes with "kotlin: N passed, M failed";
// the exit code is 1 when any test failed.

import com.zohooauth.ClientType
import com.zohooauth.ErrorFamily
import com.zohooauth.MockServer
import com.zohooauth.OAuthApp
import com.zohooauth.RequestOptions
import com.zohooauth.ZohoException
import java.net.HttpURLConnection
import java.net.URI
import java.net.URLDecoder
import java.security.MessageDigest
import java.util.Base64
import kotlin.system.exitProcess
import kotlin.system.measureTimeMillis
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout

val SCOPES = listOf("ZohoCRM.modules.ALL")
const val REDIRECT = "https://app.example/cb"

var passed = 0
var failed = 0

/** Runs one test with a fresh mock (DC `us`), stopped afterwards. */
fun test(name: String, body: suspend (MockServer) -> Unit) {
    val mock = MockServer()
    try {
        val ms = measureTimeMillis { runBlocking { body(mock) } }
        passed++
        println("ok - $name (${ms} ms)")
    } catch (e: Throwable) {
        failed++
        println("FAIL - $name: $e")
        e.printStackTrace(System.out)
    } finally {
        mock.stop()
        mock.close()
    }
}

fun ensure(cond: Boolean, message: () -> String) {
    if (!cond) throw AssertionError(message())
}

/** The exception of type [T] that [block] throws; fails when it throws nothing or another type. */
inline fun <reified T : Throwable> expectThrows(block: () -> Unit): T {
    try {
        block()
    } catch (e: Throwable) {
        if (e is T) return e
        throw AssertionError("expected ${T::class.simpleName}, got $e", e)
    }
    throw AssertionError("expected ${T::class.simpleName}, nothing was thrown")
}

fun refreshes(mock: MockServer): Long = mock.tokenRequests("refresh_token")

/** What the browser does: open the authorization URL and return the redirect's Location. */
fun consent(url: String): String {
    val conn = URI(url).toURL().openConnection() as HttpURLConnection
    conn.instanceFollowRedirects = false
    try {
        ensure(conn.responseCode == 302) { "consent answered ${conn.responseCode}" }
        return conn.getHeaderField("Location") ?: throw AssertionError("no Location header")
    } finally {
        conn.disconnect()
    }
}

fun queryParam(url: String, name: String): String? =
    URI(url).rawQuery?.split("&")?.map { it.split("=", limit = 2) }
        ?.firstOrNull { it[0] == name }?.getOrNull(1)?.let { URLDecoder.decode(it, "UTF-8") }

fun main() {
    test("self-client code exchange; the code is single-use (typed invalid_code)") { mock ->
        val app = mock.app()
        val code = mock.mintCode(SCOPES)
        val tokens = app.exchangeCode(code)
        ensure(tokens.accessToken().isNotEmpty() && tokens.refreshToken() != null) { "tokens: $tokens" }
        ensure(tokens.apiDomain() == mock.baseUrl() && tokens.accountsServer() == mock.baseUrl()) { "$tokens" }
        ensure(tokens.scopes() == SCOPES) { "scopes ${tokens.scopes()}" }
        ensure(tokens.expiresAtMs() - mock.nowMs() > 3_500_000) { "expiry ${tokens.expiresAtMs()}" }
        val e = expectThrows<ZohoException.InvalidCode> { app.exchangeCode(code) }
        ensure(e.code() == "invalid_code" && e.status == 200 && e.family() == ErrorFamily.AUTH) { "$e" }
        ensure(e.detail().code == "invalid_code" && e.hint != null) { "${e.detail()}" }
        ensure(mock.tokenRequests("authorization_code", "invalid_code") == 1L) { mock.countersJson() }
        // The refresh token works in a Client seeded by nothing else.
        val client = mock.client(refreshToken = tokens.refreshToken())
        ensure(client.get("/crm/v8/Leads").status() == 200) { "CRM call failed" }
    }

    test("an invalid_code body answered with HTTP 200 is ZohoException.InvalidCode") { mock ->
        mock.injectFault("/oauth/v2/token", body = """{"error":"invalid_code"}""")
        val e = expectThrows<ZohoException.InvalidCode> { mock.app().exchangeCode(mock.mintCode(SCOPES)) }
        ensure(e.status == 200 && e.code() == "invalid_code" && !e.isRetryable()) { "$e" }
        val unknown = expectThrows<ZohoException> { mock.client("1000.not-a-real-refresh-token").accessToken() }
        ensure(unknown is ZohoException.InvalidCode && unknown.toString().contains("invalid_code")) { "$unknown" }
    }

    test("the cached token is served until the refresh margin, then refreshed once") { mock ->
        val c = mock.client()
        val first = c.accessToken()
        ensure(c.accessToken() == first && refreshes(mock) == 1L) { "refreshes ${refreshes(mock)}" }
        mock.advanceClock(3600.0 - 300 - 5) // still outside the 300 s margin
        ensure(c.accessToken() == first && refreshes(mock) == 1L) { "refreshed too early" }
        mock.advanceClock(10.0) // inside the margin
        val second = c.accessToken()
        ensure(second != first && refreshes(mock) == 2L) { "refreshes ${refreshes(mock)}" }
        ensure(c.tokenSet().accessToken() == second) { "token set differs" }
        // memory:// is shared by every client of one identity in the process.
        val rt = mock.mintRefreshToken(SCOPES)
        ensure(mock.client(rt).accessToken() == mock.client(rt).accessToken()) { "not shared" }
        ensure(refreshes(mock) == 3L) { "refreshes ${refreshes(mock)}" }
    }

    test("token store URLs mean the same as in every language: file:// persists the token") { mock ->
        val dir = java.nio.file.Files.createTempDirectory("zoho-oauth-kotlin")
        val path = dir.resolve("tokens.json")
        try {
            val rt = mock.mintRefreshToken(SCOPES)
            val first = mock.client(rt, tokenStore = "file://$path").accessToken()
            ensure(java.nio.file.Files.exists(path)) { "no file at $path" }
            // A second client on the same file reads the cached token: no second refresh.
            ensure(mock.client(rt, tokenStore = "file://$path").accessToken() == first) { "not shared" }
            ensure(refreshes(mock) == 1L) { "refreshes ${refreshes(mock)}" }
            // The refresh token is stored only when asked; the client secret never.
            val client = mock.client(rt, tokenStore = "file://$path")
            ensure(!path.toFile().readText().contains(rt)) { "the refresh token was stored unasked" }
            client.saveRefreshToken("user@example.com")
            val text = path.toFile().readText()
            ensure(text.contains(rt) && text.contains("user@example.com")) { "not saved" }
            ensure(!text.contains("mock-self-secret")) { "the client secret was stored" }
        } finally {
            dir.toFile().deleteRecursively()
        }
    }

    test("200 concurrent coroutines on an expired token make exactly one token request") { mock ->
        val c = mock.client()
        val old = c.accessToken()
        mock.advanceClock(3600.0)
        mock.injectFault("/oauth/v2/token", delayMs = 200) // every caller piles up on one refresh
        val before = refreshes(mock)
        val tokens = coroutineScope {
            (1..200).map { async(Dispatchers.Default) { c.accessToken() } }.awaitAll()
        }
        ensure(tokens.size == 200 && tokens.toSet().size == 1 && tokens[0] != old) { "${tokens.toSet().size} tokens" }
        ensure(refreshes(mock) - before == 1L) { "${refreshes(mock) - before} token requests for 200 callers" }
    }

    test("a dead-token 401 refreshes once and retries once") { mock ->
        // Real clock for the client, virtual for the mock: the mock expires the token while the
        // client still believes it valid, which is what a revoked or evicted token looks like.
        val c = mock.client(virtualClock = false)
        val old = c.accessToken()
        mock.advanceClock(3601.0)
        val r = c.get("/crm/v8/Leads")
        ensure(r.status() == 200 && r.ok()) { "status ${r.status()}" }
        ensure(c.accessToken() != old && refreshes(mock) == 2L) { "refreshes ${refreshes(mock)}" }
        ensure(mock.apiCalls("GET /crm/v8/Leads", 401) == 1L && mock.apiCalls("GET /crm/v8/Leads", 200) == 1L) {
            mock.countersJson()
        }
    }

    test("a scope error is typed by errorForStatus() and never refreshes") { mock ->
        val c = mock.client(scopes = listOf("ZohoCRM.users.READ"))
        val r = c.get("/crm/v8/Leads")
        ensure(r.status() == 401) { "status ${r.status()}" }
        val e = expectThrows<ZohoException.ScopeMismatch> { r.errorForStatus() }
        ensure(e.zohoCode == "OAUTH_SCOPE_MISMATCH" && e.family() == ErrorFamily.API) { "$e" }
        ensure(refreshes(mock) == 1L) { "a scope error must not refresh" }
    }

    test("no secret in toString(), messages or errors") { mock ->
        val secret = "kotlin-secret-value-123"
        val refresh = mock.mintRefreshToken(SCOPES)
        val app = OAuthApp("1000.KOTLIN", clientSecret = secret, dc = "us")
        val client = com.zohooauth.Client(
            clientId = "1000.MOCKSELFCLIENT", clientSecret = secret, refreshToken = refresh,
            accountsUrl = mock.baseUrl(), apiDomain = mock.baseUrl(),
        )
        val bad = expectThrows<ZohoException.InvalidClientSecret> { client.get("/crm/v8/Leads") }
        // Its own refresh token: the failure backoff is shared by every client of one identity.
        val refresh2 = mock.mintRefreshToken(SCOPES)
        val good = mock.client(refresh2)
        val tokens = good.tokenSet()
        val mobile = mock.app("1000.MOCKSELFCLIENT", clientType = ClientType.MOBILE)
        val auth = mobile.authorizationUrl(SCOPES, REDIRECT)
        val verifier = auth.codeVerifier()!!
        val shown = listOf(
            app.toString(), client.toString(), good.toString(), tokens.toString(), auth.toString(),
            bad.toString(), bad.message ?: "", bad.detail().toString(),
        ).joinToString("\n")
        for (s in listOf(secret, refresh, refresh2, tokens.accessToken(), verifier)) {
            ensure(!shown.contains(s)) { "a secret leaked into:\n$shown" }
        }
        ensure(shown.contains("[redacted]") && tokens.toString().startsWith("TokenSet(")) { shown }
    }

    test("PKCE S256 for the mobile client type: code_challenge out, code_verifier in") { mock ->
        mock.registerClient("1000.MOBILE", "mobile-secret", clientType = "mobile", redirectUris = listOf(REDIRECT))
        val app = mock.app("1000.MOBILE", "mobile-secret", ClientType.MOBILE)
        val auth = app.authorizationUrl(SCOPES, REDIRECT)
        val verifier = auth.codeVerifier() ?: throw AssertionError("no verifier for a mobile client")
        val expected = Base64.getUrlEncoder().withoutPadding()
            .encodeToString(MessageDigest.getInstance("SHA-256").digest(verifier.toByteArray()))
        ensure(queryParam(auth.url(), "code_challenge") == expected) { "challenge is not S256 of the verifier" }
        ensure(queryParam(auth.url(), "code_challenge_method") == "S256") { auth.url() }
        ensure(queryParam(auth.url(), "state") == auth.state()) { auth.url() }
        // A wrong verifier is refused by the accounts server.
        val wrong = expectThrows<ZohoException> {
            app.handleCallback(consent(auth.url()), auth.state(), REDIRECT, codeVerifier = "wrong".repeat(10))
        }
        ensure(wrong.family() == ErrorFamily.AUTH) { "$wrong" }
        // The callback with the right verifier, then a plain exchange of a code with it.
        val tokens = app.handleCallback(consent(auth.url()), auth.state(), REDIRECT, codeVerifier = verifier)
        ensure(tokens.accessToken().isNotEmpty() && tokens.scopes() == SCOPES) { "$tokens" }
        val code = queryParam(consent(auth.url()), "code") ?: throw AssertionError("no code in the callback")
        val again = app.exchangeCode(code, redirectUri = REDIRECT, codeVerifier = verifier)
        // Zoho sends a refresh token only at the first consent (or with prompt=consent).
        ensure(again.accessToken().isNotEmpty() && again.accessToken() != tokens.accessToken()) { "$again" }
        ensure(mock.tokenRequests("authorization_code") == 2L) { mock.countersJson() }
    }

    test("the device flow: start, approve, wait (polling on the virtual clock)") { mock ->
        mock.registerClient("1004.DEV", "dev-secret", clientType = "device")
        val app = mock.app("1004.DEV", "dev-secret", ClientType.DEVICE)
        val flow = app.startDeviceFlow(SCOPES)
        ensure(flow.userCode().isNotEmpty() && flow.intervalSecs() >= 30.0) { "$flow" }
        mock.approveDevice(flow.userCode())
        val tokens = flow.wait()
        ensure(tokens.refreshToken() != null) { "$tokens" }
    }

    test("requests with options, pagination, and config errors before any I/O") { mock ->
        mock.seedCrm("Leads", 450)
        val c = mock.client()
        val r = c.get("/crm/v8/Leads", RequestOptions(params = mapOf("per_page" to "5")))
        ensure(r.status() == 200 && r.text().contains("\"data\"") && r.headers().isNotEmpty()) { "$r" }
        val pages = c.paginate("/crm/v8/Leads", perPage = 200)
        var records = 0
        while (true) {
            val page = pages.nextPage() ?: break
            records += page.size
        }
        ensure(records == 450) { "$records records" }
        val host = expectThrows<ZohoException.Config> { c.get("https://evil.example/steal") }
        ensure(host.code() == "config" && host.family() == ErrorFamily.CONFIG) { "$host" }
        expectThrows<ZohoException.Config> { mock.client(tokenStore = "bogus://nowhere") }
        expectThrows<ZohoException.Config> { OAuthApp("1000.X", "s", dc = "mars") }
    }

    test("maxResponseBytes caps an API answer: ZohoException.ResponseTooLarge; 0 is a config error") { mock ->
        mock.seedCrm("Leads", 100)
        val capped = com.zohooauth.Client(
            clientId = "1000.MOCKSELFCLIENT", clientSecret = "mock-self-secret", refreshToken = mock.mintRefreshToken(SCOPES),
            accountsUrl = mock.baseUrl(), apiDomain = mock.baseUrl(), maxResponseBytes = 4096L,
        )
        val big = expectThrows<ZohoException.ResponseTooLarge> { capped.get("/crm/v8/Leads") }
        ensure(big.code() == "response_too_large") { "$big" }
        val one = capped.get("/crm/v8/Leads", RequestOptions(params = mapOf("per_page" to "1")))
        ensure(one.status() == 200) { "status ${one.status()}" }
        ensure(mock.client().get("/crm/v8/Leads").status() == 200) { "the default cap is 64 MiB" }
        expectThrows<ZohoException.Config> {
            com.zohooauth.Client(
                clientId = "1000.MOCKSELFCLIENT", clientSecret = "mock-self-secret", refreshToken = "1000.x.y",
                accountsUrl = mock.baseUrl(), apiDomain = mock.baseUrl(), maxResponseBytes = 0L,
            )
        }
    }

    test("cancelling a coroutine aborts its request") { mock ->
        val c = mock.client()
        c.accessToken()
        mock.injectFault("/crm/v8/Leads", delayMs = 5_000)
        val ms = measureTimeMillis {
            expectThrows<TimeoutCancellationException> { withTimeout(200) { c.get("/crm/v8/Leads") } }
        }
        ensure(ms < 2_000) { "cancellation took $ms ms" }
        ensure(c.get("/crm/v8/Leads").status() == 200) { "the client is unusable after a cancel" }
    }

    println("kotlin: $passed passed, $failed failed")
    exitProcess(if (failed == 0) 0 else 1)
}
