//! Per-community roles (DESIGN §1). A caller without the role gets 404, exactly as for a community that does not
//! exist, so the existence of another community's data is never revealed.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::error::ApiError;
use crate::schema::role_grants;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Committee,
    Support,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Committee => "committee",
            Self::Support => "support",
            Self::Admin => "admin",
        }
    }
}

pub async fn has_role(conn: &mut AsyncPgConnection, account: Uuid, community: Uuid, role: Role) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        role_grants::table
            .filter(role_grants::account_id.eq(account))
            .filter(role_grants::community_id.eq(community))
            .filter(role_grants::role.eq(role.as_str())),
    ))
    .get_result(conn)
    .await
}

/// Whether the account is on the committee of the meeting's community or owns there (as a verified person), in one
/// statement: the community is read by a subquery, so the check needs no earlier read and can ride in one pipelined
/// round trip with the meeting's own reads (a ballot sheet).
pub async fn is_committee_or_owner_of_meeting(mut conn: &AsyncPgConnection, account: Uuid, meeting: Uuid) -> QueryResult<bool> {
    let community = || crate::schema::meetings::table.find(meeting).select(crate::schema::meetings::community_id).single_value();
    diesel::select(
        diesel::dsl::exists(
            role_grants::table
                .filter(role_grants::account_id.eq(account))
                .filter(role_grants::community_id.nullable().eq(community()))
                .filter(role_grants::role.eq(Role::Committee.as_str())),
        )
        .or(diesel::dsl::exists(
            crate::schema::account_persons::table
                .filter(crate::schema::account_persons::account_id.eq(account))
                .filter(crate::schema::account_persons::community_id.nullable().eq(community())),
        )),
    )
    .get_result(&mut conn)
    .await
}

pub async fn require_role(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    community: Uuid,
    role: Role,
) -> Result<(), ApiError> {
    if has_role(conn, account, community, role).await? { Ok(()) } else { Err(ApiError::not_found()) }
}

pub async fn grant(conn: &mut AsyncPgConnection, account: Uuid, community: Uuid, role: Role) -> QueryResult<usize> {
    diesel::insert_into(role_grants::table)
        .values((
            role_grants::account_id.eq(account),
            role_grants::community_id.eq(community),
            role_grants::role.eq(role.as_str()),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
}
