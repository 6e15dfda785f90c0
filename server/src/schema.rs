//! Diesel table definitions, kept by hand in step with `migrations/`.

diesel::table! {
    communities (id) {
        id -> Uuid,
        code -> Text,
        name -> Text,
        count_parking_spaces -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    buildings (id) {
        id -> Uuid,
        community_id -> Uuid,
        code -> Text,
        name -> Text,
    }
}

diesel::table! {
    units (id) {
        id -> Uuid,
        community_id -> Uuid,
        building_id -> Uuid,
        number -> Text,
        kind -> Text,
        exclusive_area_centi_m2 -> Int8,
        area_source -> Text,
        building_area_centi_m2 -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    persons (id) {
        id -> Uuid,
        kind -> Text,
        name_enc -> Text,
        id_number_enc -> Text,
        id_number_bidx -> Text,
        phone_enc -> Nullable<Text>,
        phone_bidx -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    ownerships (unit_id, person_id) {
        unit_id -> Uuid,
        person_id -> Uuid,
        developer_holding -> Nullable<Text>,
    }
}

diesel::table! {
    register_imports (id) {
        id -> Uuid,
        community_id -> Uuid,
        file_sha256 -> Bytea,
        units -> Int4,
        owners -> Int4,
        changed_rows -> Int4,
        imported_at -> Timestamptz,
    }
}

diesel::table! {
    accounts (id) {
        id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    account_persons (account_id, person_id) {
        account_id -> Uuid,
        person_id -> Uuid,
        community_id -> Uuid,
        verified_at -> Timestamptz,
    }
}

diesel::table! {
    role_grants (account_id, community_id, role) {
        account_id -> Uuid,
        community_id -> Uuid,
        role -> Text,
        granted_at -> Timestamptz,
    }
}

diesel::table! {
    audit_log (seq) {
        seq -> Int8,
        id -> Uuid,
        at -> Timestamptz,
        actor -> Text,
        action -> Text,
        subject -> Text,
        details -> Jsonb,
        prev_hash -> Bytea,
        hash -> Bytea,
    }
}

diesel::joinable!(buildings -> communities (community_id));
diesel::joinable!(units -> buildings (building_id));
diesel::joinable!(ownerships -> units (unit_id));
diesel::joinable!(ownerships -> persons (person_id));

diesel::allow_tables_to_appear_in_same_query!(
    communities,
    buildings,
    units,
    persons,
    ownerships,
    register_imports,
    accounts,
    account_persons,
    role_grants,
    audit_log,
);
