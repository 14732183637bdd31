//! The ticket model a user of raw reqwest + serde would write by hand: the baseline the SDK's
//! generated models are compared with.

use serde::Deserialize;

/// A ticket as a user of raw serde would model it: the fields of the spec's `Ticket`, each
/// optional.
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
pub struct RawTicket {
    id: Option<String>,
    owner_contactid: Option<String>,
    owner_email: Option<String>,
    owner_name: Option<String>,
    departmentid: Option<String>,
    agentid: Option<String>,
    status: Option<String>,
    tags: Option<Vec<String>>,
    code: Option<String>,
    channel_type: Option<String>,
    date_created: Option<String>,
    date_changed: Option<String>,
    date_resolved: Option<String>,
    date_due: Option<String>,
    date_deleted: Option<String>,
    last_activity: Option<String>,
    last_activity_public: Option<String>,
    public_access_urlcode: Option<String>,
    pub subject: Option<String>,
    custom_fields: Option<Vec<RawCustomField>>,
}

/// One custom field of a [`RawTicket`].
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
pub struct RawCustomField {
    code: Option<String>,
    value: Option<String>,
}
