// A round trip through the Kotlin jar alone (scripts/check-dist.sh): the com.zohooauth classes and
// the native library JNA finds inside the jar, against the fake Zoho running in this JVM.
import com.zohooauth.MockServer
import kotlinx.coroutines.runBlocking

fun main() = runBlocking {
    val mock = MockServer()
    try {
        val scopes = listOf("ZohoCRM.modules.ALL")
        val tokens = mock.app().exchangeCode(mock.mintCode(scopes))
        val client = mock.client(refreshToken = tokens.refreshToken())
        check(client.get("/crm/v8/Leads").status() == 200)
        mock.advanceClock(3600.0)
        check(client.get("/crm/v8/Leads").status() == 200)
        check(mock.tokenRequests("authorization_code") == 1L && mock.tokenRequests("refresh_token") == 2L) { mock.countersJson() }
        println("kotlin jar: code exchange, CRM call, refresh after expiry: ok")
    } finally {
        mock.stop()
        mock.close()
    }
}
