//! The disclosure feed (DESIGN §6, issue 23 item 6): the property company and the committee publish items, each an
//! entry of the community's `disclosure` log (so any owner can prove the item they see is the one everyone sees);
//! owners and the bureau read the feed and each item's proof through the log routes.

pub mod domain;
pub mod routes;
pub mod store;

use serde::Deserialize;

/// The `[disclosure]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct DisclosureConfig {
    /// Categories the property company and the committee may publish under (codes; the names are the client's).
    /// The defaults follow Shanghai's "6+N": service contracts with all attachments, fee items and rates, public
    /// income and costs, fund use, maintenance records, service reports. `monthly_statement` and `fund_event` are
    /// published automatically and never by hand.
    pub categories: Vec<String>,
}

impl Default for DisclosureConfig {
    fn default() -> Self {
        Self {
            categories: ["service_contract", "fee_items", "public_income", "fund_use", "maintenance_records", "service_reports"]
                .map(String::from)
                .to_vec(),
        }
    }
}
