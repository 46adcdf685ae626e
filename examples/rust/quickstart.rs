// Cargo.toml: zoho-oauth = "0.1", tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
// Reads ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_REFRESH_TOKEN and ZOHO_DC (see "Using a real Zoho account").
use zoho_oauth::Client;

#[tokio::main]
async fn main() -> zoho_oauth::Result<()> {
    // One client per Zoho identity: it caches the access token and refreshes it when it is due.
    let client = Client::from_env()?;
    let mut leads = client.paginate("/crm/v8/Leads").query_pair("fields", "Last_Name,Company");
    while let Some(lead) = leads.next_record().await? {
        println!("{} {} ({})", lead["id"], lead["Last_Name"], lead["Company"]);
    }
    Ok(())
}
