//! CRM metadata: the modules the mock knows, their fields and layouts, the org and its users, in
//! the shapes of Zoho's CRM v8 OpenAPI definitions (`zoho/crm-oas`: `modules.json`,
//! `fields.json`, `layouts.json`, `org.json`, `users.json`). Zoho's SDKs read the field metadata
//! before they touch a record, so the types here decide how an SDK converts every value.

use serde_json::{Value, json};

/// One field of a module: what `GET /settings/fields` describes.
pub(crate) struct FieldDef {
    pub api_name: &'static str,
    pub label: &'static str,
    /// Zoho's `data_type` (`text`, `email`, `phone`, `picklist`, `lookup`, `ownerlookup`, ...).
    pub data_type: &'static str,
    pub mandatory: bool,
    /// The module a `lookup` field points to.
    pub lookup: Option<&'static str>,
    pub picklist: &'static [&'static str],
}

const fn f(api_name: &'static str, label: &'static str, data_type: &'static str) -> FieldDef {
    FieldDef { api_name, label, data_type, mandatory: false, lookup: None, picklist: &[] }
}

const fn required(api_name: &'static str, label: &'static str, data_type: &'static str) -> FieldDef {
    FieldDef { api_name, label, data_type, mandatory: true, lookup: None, picklist: &[] }
}

const fn lookup(api_name: &'static str, label: &'static str, module: &'static str) -> FieldDef {
    FieldDef { api_name, label, data_type: "lookup", mandatory: false, lookup: Some(module), picklist: &[] }
}

const fn picklist(api_name: &'static str, label: &'static str, values: &'static [&'static str]) -> FieldDef {
    FieldDef { api_name, label, data_type: "picklist", mandatory: false, lookup: None, picklist: values }
}

/// Fields every module has: ownership and audit fields, set by the server.
const SYSTEM_FIELDS: &[FieldDef] = &[
    f("Owner", "Owner", "ownerlookup"),
    f("Created_By", "Created By", "ownerlookup"),
    f("Modified_By", "Modified By", "ownerlookup"),
    f("Created_Time", "Created Time", "datetime"),
    f("Modified_Time", "Modified Time", "datetime"),
];

const LEAD_STATUS: &[&str] = &["-None-", "Not Contacted", "Attempted to Contact", "Contacted", "Qualified"];
const LEAD_SOURCE: &[&str] = &["-None-", "Advertisement", "Cold Call", "Web Download", "Trade Show"];

const LEADS: &[FieldDef] = &[
    required("Last_Name", "Last Name", "text"),
    f("First_Name", "First Name", "text"),
    f("Email", "Email", "email"),
    f("Phone", "Phone", "phone"),
    f("Mobile", "Mobile", "phone"),
    f("Company", "Company", "text"),
    picklist("Lead_Status", "Lead Status", LEAD_STATUS),
    picklist("Lead_Source", "Lead Source", LEAD_SOURCE),
    f("Description", "Description", "textarea"),
];

const CONTACTS: &[FieldDef] = &[
    required("Last_Name", "Last Name", "text"),
    f("First_Name", "First Name", "text"),
    f("Email", "Email", "email"),
    f("Phone", "Phone", "phone"),
    lookup("Account_Name", "Account Name", "Accounts"),
    f("Description", "Description", "textarea"),
];

const ACCOUNTS: &[FieldDef] = &[
    f("Account_Name", "Account Name", "text"),
    f("Phone", "Phone", "phone"),
    f("Website", "Website", "website"),
    picklist("Industry", "Industry", &["-None-", "Manufacturing", "Retail", "Technology"]),
];

const DEALS: &[FieldDef] = &[
    f("Deal_Name", "Deal Name", "text"),
    picklist("Stage", "Stage", &["Qualification", "Needs Analysis", "Closed Won", "Closed Lost"]),
    f("Amount", "Amount", "currency"),
    f("Closing_Date", "Closing Date", "date"),
    lookup("Account_Name", "Account Name", "Accounts"),
    lookup("Contact_Name", "Contact Name", "Contacts"),
];

const TASKS: &[FieldDef] = &[
    f("Subject", "Subject", "text"),
    f("Due_Date", "Due Date", "date"),
    picklist("Status", "Status", &["Not Started", "In Progress", "Completed"]),
];

const NOTES: &[FieldDef] = &[f("Note_Title", "Note Title", "text"), f("Note_Content", "Note Content", "textarea")];

/// Modules created through the control API (`POST /__mock/crm/{module}`): the fields the
/// generated records carry, none mandatory.
const CUSTOM: &[FieldDef] = &[
    f("Last_Name", "Last Name", "text"),
    f("First_Name", "First Name", "text"),
    f("Email", "Email", "email"),
    f("Company", "Company", "text"),
];

/// A module of the catalogue.
pub(crate) struct ModuleDef {
    pub api_name: String,
    pub singular: String,
    pub id: String,
    pub custom: bool,
    pub fields: &'static [FieldDef],
    /// Fields that identify a duplicate for upsert when the request names none.
    pub unique: &'static [&'static str],
}

/// Standard modules: api name, singular label, fields, duplicate-check fields.
type Standard = (&'static str, &'static str, &'static [FieldDef], &'static [&'static str]);
const STANDARD: &[Standard] = &[
    ("Leads", "Lead", LEADS, &["Email"]),
    ("Contacts", "Contact", CONTACTS, &["Email"]),
    ("Accounts", "Account", ACCOUNTS, &["Account_Name"]),
    ("Deals", "Deal", DEALS, &["Deal_Name"]),
    ("Tasks", "Task", TASKS, &[]),
    ("Notes", "Note", NOTES, &[]),
];

const MODULE_ID_BASE: u64 = 3_652_397_000_000_002_000;

/// The standard module named `name` (any case).
pub(crate) fn standard_module(name: &str) -> Option<ModuleDef> {
    STANDARD.iter().enumerate().find(|(_, s)| s.0.eq_ignore_ascii_case(name)).map(|(i, s)| ModuleDef {
        api_name: s.0.to_string(),
        singular: s.1.to_string(),
        id: (MODULE_ID_BASE + i as u64).to_string(),
        custom: false,
        fields: s.2,
        unique: s.3,
    })
}

/// Every module: the standard ones, then the custom ones (`seeded`, as named when created).
pub(crate) fn all_modules<'a>(seeded: impl Iterator<Item = &'a str>) -> Vec<ModuleDef> {
    let mut out: Vec<ModuleDef> = STANDARD.iter().filter_map(|s| standard_module(s.0)).collect();
    for name in seeded {
        if standard_module(name).is_none() {
            out.push(custom_module(name, out.len()));
        }
    }
    out
}

fn custom_module(name: &str, index: usize) -> ModuleDef {
    ModuleDef {
        api_name: name.to_string(),
        singular: name.to_string(),
        id: (MODULE_ID_BASE + index as u64).to_string(),
        custom: true,
        fields: CUSTOM,
        unique: &[],
    }
}

impl ModuleDef {
    /// Its own fields, then the system fields.
    pub fn all_fields(&self) -> impl Iterator<Item = &'static FieldDef> {
        self.fields.iter().chain(SYSTEM_FIELDS.iter())
    }

    pub fn field(&self, api_name: &str) -> Option<&'static FieldDef> {
        self.all_fields().find(|f| f.api_name.eq_ignore_ascii_case(api_name))
    }

    /// The fields a new record must carry (`system_mandatory`).
    pub fn mandatory(&self) -> impl Iterator<Item = &'static str> {
        self.fields.iter().filter(|f| f.mandatory).map(|f| f.api_name)
    }

    fn field_id(&self, index: usize) -> String {
        // Field ids follow their module's id, as Zoho's do (same prefix, later sequence).
        let module: u64 = self.id.parse().unwrap_or(MODULE_ID_BASE);
        (module + 1_000_000 + 100 * (module % 100) + index as u64).to_string()
    }

    /// The module in `GET /settings/modules` (and `/settings/modules/{api_name}`).
    pub fn json(&self, now: &str) -> Value {
        json!({
            "id": self.id,
            "api_name": self.api_name,
            "module_name": self.api_name,
            "singular_label": self.singular,
            "plural_label": self.api_name,
            "generated_type": if self.custom { "custom" } else { "default" },
            "api_supported": true,
            "creatable": true,
            "editable": true,
            "deletable": true,
            "viewable": true,
            "convertable": self.api_name == "Leads",
            "global_search_supported": true,
            "status": "visible",
            "visibility": 1,
            "visible": true,
            "sequence_number": self.id.parse::<u64>().map(|i| i - MODULE_ID_BASE + 1).unwrap_or(1),
            "modified_time": now,
            "modified_by": null,
            "profiles": [{"name": "Administrator", "id": "3652397000000026011"}],
        })
    }

    /// The module's fields in `GET /settings/fields?module=`.
    pub fn fields_json(&self, now: &str) -> Vec<Value> {
        self.all_fields().enumerate().map(|(i, f)| self.field_json(i, f, now)).collect()
    }

    /// The field with this id, in the same shape.
    pub fn field_by_id(&self, id: &str, now: &str) -> Option<Value> {
        self.all_fields().enumerate().find(|(i, _)| self.field_id(*i) == id).map(|(i, f)| self.field_json(i, f, now))
    }

    fn field_json(&self, index: usize, f: &FieldDef, now: &str) -> Value {
        let json_type = match f.data_type {
            "ownerlookup" | "lookup" => "jsonobject",
            "currency" => "double",
            "boolean" => "boolean",
            _ => "string",
        };
        let system = SYSTEM_FIELDS.iter().any(|s| s.api_name == f.api_name);
        let lookup = match f.lookup.and_then(standard_module) {
            Some(target) => json!({
                "display_label": f.label,
                "api_name": f.api_name,
                "module": {"api_name": target.api_name, "id": target.id},
                "id": self.field_id(index),
            }),
            None => json!({}),
        };
        let picklist: Vec<Value> = f
            .picklist
            .iter()
            .enumerate()
            .map(|(n, v)| {
                json!({"display_value": v, "actual_value": v, "sequence_number": n + 1, "type": "used",
                       "id": format!("{}{:02}", self.field_id(index), n)})
            })
            .collect();
        json!({
            "id": self.field_id(index),
            "api_name": f.api_name,
            "field_label": f.label,
            "display_label": f.label,
            "column_name": f.api_name.to_ascii_uppercase(),
            "data_type": f.data_type,
            "json_type": json_type,
            "system_mandatory": f.mandatory,
            "custom_field": self.custom,
            "read_only": system && f.api_name != "Owner",
            "field_read_only": system && f.api_name != "Owner",
            "visible": true,
            "searchable": f.data_type != "ownerlookup",
            "sortable": true,
            "filterable": true,
            "mass_update": !system,
            "length": if f.data_type == "textarea" { 32000 } else { 255 },
            "sequence_number": index + 1,
            "created_source": "default",
            "created_time": null,
            "modified_time": now,
            "lookup": lookup,
            "pick_list_values": picklist,
            "display_type": -1,
            "ui_type": 1,
            "available_in_user_layout": true,
            "profiles": [{"permission_type": "read_write", "name": "Administrator", "id": "3652397000000026011"}],
        })
    }

    /// The module's one layout in `GET /settings/layouts?module=`.
    pub fn layout_json(&self, now: &str) -> Value {
        json!({
            "id": self.layout_id(),
            "name": "Standard",
            "display_label": "Standard",
            "api_name": "Standard",
            "status": "active",
            "visible": true,
            "source": "crm",
            "created_time": null,
            "modified_time": now,
            "profiles": [{"default": true, "name": "Administrator", "id": "3652397000000026011",
                          "_default_view": {"name": "Standard", "type": "layout", "id": self.layout_id()}}],
            "sections": [{
                "display_label": format!("{} Information", self.singular),
                "api_name": format!("{} Information", self.singular),
                "sequence_number": 1,
                "column_count": 2,
                "tab_traversal": "left_to_right",
                "type": "used",
                "fields": self.fields_json(now),
            }],
        })
    }

    pub fn layout_id(&self) -> String {
        let module: u64 = self.id.parse().unwrap_or(MODULE_ID_BASE);
        (module + 90_000).to_string()
    }
}

/// The org in `GET /org`.
pub(crate) fn org_json(org_id: &str, primary_email: &str, primary_zuid: &str) -> Value {
    json!({
        "id": org_id,
        "zgid": org_id,
        "company_name": "Zylker",
        "alias": null,
        "primary_email": primary_email,
        "primary_zuid": primary_zuid,
        "domain_name": format!("org{org_id}"),
        "time_zone": "GMT",
        "iso_code": "USD",
        "currency": "US Dollar - USD",
        "currency_symbol": "$",
        "currency_locale": "en_US",
        "country": "United States",
        "country_code": "US",
        "type": "production",
        "mc_status": false,
        "gapps_enabled": false,
        "translation_enabled": false,
        "hipaa_compliance_enabled": false,
        "lite_users_enabled": false,
        "max_per_page": 200,
        "employee_count": null,
        "website": null,
        "phone": null,
        "mobile": null,
        "fax": null,
        "street": null,
        "city": null,
        "state": null,
        "zip": null,
        "description": null,
        "photo_id": null,
        "license_details": {
            "paid": true,
            "paid_type": "enterprise",
            "users_license_purchased": 10,
            "trial_type": null,
            "trial_expiry": null,
            "paid_expiry": null,
        },
    })
}

/// A user in `GET /users`.
pub(crate) fn user_json(id: &str, email: &str) -> Value {
    let local = email.split('@').next().unwrap_or("");
    let first = local.chars().next().map(|c| c.to_uppercase().collect::<String>() + &local[c.len_utf8()..]);
    json!({
        "id": id,
        // Accounts' user id (ZUID), a shorter number of its own; stable for a given CRM user id.
        "zuid": id.parse::<u64>().map(|n| (700_000_000 + n % 1_000_000_000).to_string()).unwrap_or_default(),
        "email": email,
        "first_name": first,
        "last_name": "Mock",
        "full_name": format!("{} Mock", first.as_deref().unwrap_or("")),
        "role": {"name": "CEO", "id": "3652397000000026005"},
        "profile": {"name": "Administrator", "id": "3652397000000026011"},
        "status": "active",
        "confirm": true,
        "time_zone": "GMT",
        "locale": "en_US",
        "language": "en_US",
        "country_locale": "en_US",
        "date_format": "MM-dd-yyyy",
        "time_format": "hh:mm a",
        "sort_order_preference__s": "First Name,Last Name",
        "name_format__s": "Salutation,First Name,Last Name",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_numeric_and_distinct() {
        let modules = all_modules(["Vendors_X"].into_iter());
        let mut ids: Vec<String> = modules.iter().map(|m| m.id.clone()).collect();
        for m in &modules {
            ids.extend(m.fields_json("now").iter().map(|f| f["id"].as_str().unwrap_or("").to_string()));
            ids.push(m.layout_id());
        }
        assert!(ids.iter().all(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit())));
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }

    #[test]
    fn leads_need_last_name_and_contacts_look_up_accounts() {
        let leads = standard_module("leads").unwrap();
        assert_eq!(leads.mandatory().collect::<Vec<_>>(), vec!["Last_Name"]);
        let contacts = standard_module("Contacts").unwrap();
        let account = contacts.fields_json("t").into_iter().find(|f| f["api_name"] == "Account_Name").unwrap();
        assert_eq!(account["lookup"]["module"]["api_name"], "Accounts");
        let user = user_json("4000000000000000001", "user@example.com");
        assert_eq!((user["full_name"].clone(), user["zuid"].clone()), (json!("User Mock"), json!("700000001")));
    }
}
