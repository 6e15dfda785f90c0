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
        register_area_centi_m2 -> Nullable<Int8>,
        surveyed_area_centi_m2 -> Nullable<Int8>,
        contract_area_centi_m2 -> Nullable<Int8>,
        registry_area_centi_m2 -> Nullable<Int8>,
        registry_area_source -> Nullable<Text>,
        retired_at -> Nullable<Timestamptz>,
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
        id_type -> Text,
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
        retired_units -> Int4,
        reinstated_units -> Int4,
        area_conflicts -> Int4,
    }
}

diesel::table! {
    accounts (id) {
        id -> Uuid,
        created_at -> Timestamptz,
        wx_openid_hash -> Nullable<Text>,
        wx_openid_enc -> Nullable<Text>,
        wx_unionid_hash -> Nullable<Text>,
        last_login_at -> Nullable<Timestamptz>,
        person_id_number_bidx -> Nullable<Text>,
        session_epoch -> Int8,
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

diesel::table! {
    consents (id) {
        id -> Uuid,
        account_id -> Uuid,
        enrollment_id -> Nullable<Uuid>,
        kind -> Text,
        version -> Text,
        given_at -> Timestamptz,
    }
}

diesel::table! {
    enrollments (id) {
        id -> Uuid,
        account_id -> Uuid,
        community_id -> Uuid,
        unit_id -> Uuid,
        real_name_enc -> Text,
        id_number_enc -> Text,
        id_number_bidx -> Text,
        person_id -> Nullable<Uuid>,
        status -> Text,
        state -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    enrollment_events (seq) {
        seq -> Int8,
        enrollment_id -> Uuid,
        at -> Timestamptz,
        from_status -> Text,
        to_status -> Text,
        event -> Jsonb,
    }
}

diesel::table! {
    face_attempts (id) {
        id -> Uuid,
        enrollment_id -> Uuid,
        id_number_bidx -> Text,
        attempt_day -> Date,
        at -> Timestamptz,
        provider_request_id -> Nullable<Text>,
        score -> Nullable<Float8>,
        passed -> Bool,
        image_sha256 -> Text,
    }
}

diesel::table! {
    registry_attempts (id) {
        id -> Uuid,
        enrollment_id -> Uuid,
        id_number_bidx -> Text,
        attempt_day -> Date,
        at -> Timestamptz,
        confirmed -> Nullable<Bool>,
        reference -> Nullable<Text>,
    }
}

diesel::table! {
    device_certificates (serial) {
        serial -> Text,
        account_id -> Uuid,
        enrollment_id -> Uuid,
        public_key -> Bytea,
        device_hash -> Text,
        wx_hash -> Text,
        not_before -> Timestamptz,
        not_after -> Timestamptz,
        status -> Text,
        revoked_at -> Nullable<Timestamptz>,
        revoke_reason -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    pins (account_id) {
        account_id -> Uuid,
        phc -> Text,
        set_at -> Timestamptz,
        consecutive_failures -> Int4,
        locks_imposed -> Int4,
        locked_until -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    binding_resets (id) {
        id -> Uuid,
        account_id -> Uuid,
        community_id -> Uuid,
        reason -> Text,
        ticket_id -> Text,
        filed_by -> Uuid,
        filed_at -> Timestamptz,
        approved_by -> Nullable<Uuid>,
        approved_at -> Nullable<Timestamptz>,
        cert_serial -> Nullable<Text>,
        expires_at -> Timestamptz,
        withdrawn_by -> Nullable<Uuid>,
        withdrawn_at -> Nullable<Timestamptz>,
        state -> Text,
    }
}

diesel::table! {
    org_apps (id) {
        id -> Text,
        org_name -> Text,
        role -> Text,
        secret_sealed -> Text,
        secret_sha256 -> Text,
        created_at -> Timestamptz,
        disabled_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    org_app_communities (app_id, community_id) {
        app_id -> Text,
        community_id -> Uuid,
    }
}

diesel::table! {
    idempotency_keys (scope, key) {
        scope -> Text,
        key -> Text,
        request_sha256 -> Bytea,
        status -> Text,
        response_status -> Nullable<Int4>,
        response_body -> Nullable<Bytea>,
        created_at -> Timestamptz,
        completed_at -> Nullable<Timestamptz>,
        holder_pid -> Nullable<Int4>,
    }
}

diesel::table! {
    meetings (id) {
        id -> Uuid,
        community_id -> Uuid,
        chain_meeting_id -> Bytea,
        title -> Text,
        status -> Text,
        silent_counts_as_participating -> Bool,
        silent_follows_majority -> Bool,
        vote_change_allowed -> Bool,
        count_parking_spaces -> Bool,
        bureau_review_required -> Bool,
        notice_days -> Int4,
        voting_starts_at -> Timestamptz,
        voting_ends_at -> Timestamptz,
        created_by -> Uuid,
        created_at -> Timestamptz,
        screening_terms -> Jsonb,
        published_at -> Nullable<Timestamptz>,
        roll_frozen_at -> Nullable<Timestamptz>,
        roll_hash -> Nullable<Bytea>,
        roll_area_centi_m2 -> Nullable<Int8>,
        roll_heads -> Nullable<Int8>,
        finalized_at -> Nullable<Timestamptz>,
        result -> Nullable<Jsonb>,
        result_signature -> Nullable<Text>,
        result_mismatch -> Bool,
        screening_wechat -> Nullable<Jsonb>,
        frozen_rules -> Nullable<Jsonb>,
        served_silent_area_centi_m2 -> Nullable<Int8>,
        served_silent_heads -> Nullable<Int8>,
        served_silent_root -> Nullable<Bytea>,
        result_sha256 -> Nullable<Bytea>,
    }
}

diesel::table! {
    meeting_notices (meeting_id, account_id) {
        meeting_id -> Uuid,
        account_id -> Uuid,
        headcount_keys -> Jsonb,
        channel -> Text,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        claimed_at -> Nullable<Timestamptz>,
        sent_at -> Nullable<Timestamptz>,
        errcode -> Nullable<Int8>,
        last_error -> Nullable<Text>,
        read_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        sent_data -> Nullable<Jsonb>,
    }
}

diesel::table! {
    meeting_service_records (id) {
        id -> Uuid,
        meeting_id -> Uuid,
        channel -> Text,
        served_at -> Timestamptz,
        evidence_sha256 -> Bytea,
        target -> Jsonb,
        headcount_keys -> Jsonb,
        recorded_by -> Uuid,
        recorded_at -> Timestamptz,
    }
}

diesel::table! {
    electronic_service_consents (id) {
        id -> Uuid,
        account_id -> Uuid,
        community_id -> Uuid,
        agreed -> Bool,
        text_version -> Nullable<Text>,
        source -> Text,
        enrollment_id -> Nullable<Uuid>,
        at -> Timestamptz,
    }
}

diesel::table! {
    meeting_proposals (meeting_id, idx) {
        meeting_id -> Uuid,
        idx -> Int2,
        matter -> Int2,
        title -> Text,
        body -> Text,
        options -> Jsonb,
        content_hash -> Bytea,
        kind -> Text,
        seats -> Int2,
        candidates -> Jsonb,
    }
}

diesel::table! {
    meeting_reviews (meeting_id, stage, reviewer) {
        meeting_id -> Uuid,
        stage -> Text,
        reviewer -> Text,
        approved -> Bool,
        note -> Text,
        at -> Timestamptz,
    }
}

diesel::table! {
    roll_entries (meeting_id, headcount_key) {
        meeting_id -> Uuid,
        headcount_key -> Text,
        area_centi_m2 -> Int8,
        heads -> Int4,
        units -> Jsonb,
        voter_account -> Nullable<Uuid>,
        proxy_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    ballot_sheets (id) {
        id -> Uuid,
        meeting_id -> Uuid,
        account_id -> Uuid,
        voter_pseudonym -> Bytea,
        area_centi_m2 -> Int8,
        heads -> Int4,
        choices -> Jsonb,
        sheet_hash -> Bytea,
        device_serial -> Text,
        created_at -> Timestamptz,
        proxy_id -> Nullable<Uuid>,
        superseded_by -> Nullable<Uuid>,
        superseded_at -> Nullable<Timestamptz>,
        request_nonce -> Nullable<Text>,
        reveal_salt -> Nullable<Bytea>,
    }
}

diesel::table! {
    proposal_attachments (id) {
        id -> Uuid,
        meeting_id -> Uuid,
        proposal_idx -> Int2,
        position -> Int2,
        file_name -> Text,
        kind -> Text,
        bytes -> Bytea,
        sha256 -> Bytea,
        uploaded_by -> Uuid,
        uploaded_at -> Timestamptz,
    }
}

diesel::table! {
    meeting_proxies (id) {
        id -> Uuid,
        meeting_id -> Uuid,
        community_id -> Uuid,
        holder_account -> Uuid,
        principal_unit -> Uuid,
        status -> Text,
        scan_enc -> Text,
        scan_kind -> Text,
        scan_sha256 -> Text,
        submitted_at -> Timestamptz,
        decided_by -> Nullable<Uuid>,
        decided_at -> Nullable<Timestamptz>,
        decision_note -> Nullable<Text>,
    }
}

diesel::table! {
    chain_contracts (community_id) {
        community_id -> Uuid,
        address -> Text,
        deploy_tx -> Nullable<Text>,
        deployed_at -> Timestamptz,
    }
}

diesel::table! {
    chain_outbox (id) {
        id -> Int8,
        community_id -> Uuid,
        kind -> Text,
        subject_id -> Uuid,
        signer -> Text,
        call_data -> Bytea,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        nonce -> Nullable<Text>,
        block_limit -> Nullable<Int8>,
        signed_bytes -> Nullable<Bytea>,
        tx_hash -> Nullable<Bytea>,
        previous_hashes -> Jsonb,
        block_number -> Nullable<Int8>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        done_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    registry_reviews (id) {
        id -> Uuid,
        enrollment_id -> Uuid,
        community_id -> Uuid,
        account_id -> Uuid,
        requested_at -> Timestamptz,
        status -> Text,
        scan_enc -> Nullable<Text>,
        scan_kind -> Nullable<Text>,
        scan_sha256 -> Nullable<Text>,
        proposed_by -> Nullable<Uuid>,
        proposal -> Nullable<Text>,
        proposed_area_centi_m2 -> Nullable<Int8>,
        proposal_note -> Nullable<Text>,
        proposed_at -> Nullable<Timestamptz>,
        decided_by -> Nullable<Uuid>,
        decided_at -> Nullable<Timestamptz>,
        third_review_required -> Bool,
        seconded_by -> Nullable<Uuid>,
        seconded_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(buildings -> communities (community_id));
diesel::joinable!(device_certificates -> accounts (account_id));
diesel::joinable!(registry_reviews -> enrollments (enrollment_id));
diesel::joinable!(units -> buildings (building_id));
diesel::joinable!(ownerships -> units (unit_id));
diesel::joinable!(ownerships -> persons (person_id));

// co-owner voter designations (issue 24 item 8)
diesel::table! {
    co_owner_designations (id) {
        id -> Uuid,
        community_id -> Uuid,
        unit_id -> Uuid,
        voter_person -> Uuid,
        proposed_by -> Uuid,
        status -> Text,
        created_at -> Timestamptz,
        effective_at -> Nullable<Timestamptz>,
        ended_at -> Nullable<Timestamptz>,
        ended_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    co_owner_designation_signatures (designation_id, person_id) {
        designation_id -> Uuid,
        person_id -> Uuid,
        account_id -> Uuid,
        device_serial -> Text,
        request_nonce -> Text,
        signed_at -> Timestamptz,
    }
}

diesel::joinable!(co_owner_designation_signatures -> co_owner_designations (designation_id));

// billing (DESIGN §8)
diesel::table! {
    fee_items (id) {
        id -> Uuid,
        community_id -> Uuid,
        code -> Text,
        name -> Text,
        method -> Text,
        rate_fen -> Int8,
        unit_kind -> Text,
        public_income -> Bool,
        active -> Bool,
    }
}

diesel::table! {
    bills (id) {
        id -> Uuid,
        community_id -> Uuid,
        unit_id -> Uuid,
        fee_item_id -> Uuid,
        period -> Text,
        amount_fen -> Int8,
        status -> Text,
        paid_order_id -> Nullable<Uuid>,
        paid_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    payment_orders (id) {
        id -> Uuid,
        out_trade_no -> Text,
        community_id -> Uuid,
        account_id -> Uuid,
        sp_mchid -> Text,
        sub_mchid -> Text,
        amount_fen -> Int8,
        status -> Text,
        prepay_id -> Nullable<Text>,
        transaction_id -> Nullable<Text>,
        created_at -> Timestamptz,
        paid_at -> Nullable<Timestamptz>,
        closed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    payment_order_bills (order_id, bill_id) {
        order_id -> Uuid,
        bill_id -> Uuid,
        amount_fen -> Int8,
        open -> Bool,
    }
}

diesel::table! {
    ledger_entries (id) {
        id -> Uuid,
        community_id -> Uuid,
        book -> Text,
        amount_fen -> Int8,
        source -> Text,
        order_id -> Uuid,
        created_at -> Timestamptz,
        refund_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    receipts (id) {
        id -> Uuid,
        order_id -> Uuid,
        number -> Text,
        verification_code -> Text,
        html -> Text,
        issued_at -> Timestamptz,
    }
}

diesel::table! {
    refunds (id) {
        id -> Uuid,
        out_refund_no -> Text,
        order_id -> Uuid,
        amount_fen -> Int8,
        reason -> Text,
        status -> Text,
        refund_id -> Nullable<Text>,
        created_at -> Timestamptz,
        succeeded_at -> Nullable<Timestamptz>,
        sub_mchid -> Text,
        refused_code -> Nullable<Text>,
    }
}

// vehicles of a unit (issue 14)
diesel::table! {
    vehicles (id) {
        id -> Uuid,
        community_id -> Uuid,
        unit_id -> Uuid,
        plate -> Text,
        plate_color -> Text,
        plate_kind -> Text,
        registered_by -> Uuid,
        created_at -> Timestamptz,
        removed_at -> Nullable<Timestamptz>,
        removed_by -> Nullable<Uuid>,
    }
}
diesel::joinable!(vehicles -> units (unit_id));

// door access (issue 13)
diesel::table! {
    doors (id) {
        id -> Uuid,
        community_id -> Uuid,
        kind -> Text,
        building_id -> Nullable<Uuid>,
        code -> Int8,
        name -> Text,
        gateway_url -> Text,
        gateway_username -> Text,
        gateway_password_enc -> Text,
        gateway_door_no -> Int4,
        gateway_format -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    residents (id) {
        id -> Uuid,
        community_id -> Uuid,
        unit_id -> Uuid,
        kind -> Text,
        name_enc -> Text,
        phone_enc -> Text,
        phone_bidx -> Text,
        relation -> Text,
        valid_from -> Timestamptz,
        valid_until -> Timestamptz,
        invited_by_account -> Nullable<Uuid>,
        invited_by_app -> Nullable<Text>,
        invitation_sha256 -> Text,
        account_id -> Nullable<Uuid>,
        accepted_at -> Nullable<Timestamptz>,
        ended_at -> Nullable<Timestamptz>,
        ended_by_account -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    access_events (id) {
        id -> Uuid,
        community_id -> Uuid,
        door_id -> Nullable<Uuid>,
        door_code -> Int8,
        source -> Text,
        outcome -> Text,
        reason -> Nullable<Text>,
        terminal_status -> Nullable<Int4>,
        account_id -> Nullable<Uuid>,
        unit_id -> Nullable<Uuid>,
        pass_id -> Nullable<Uuid>,
        reader_app -> Nullable<Text>,
        occurred_at -> Timestamptz,
        recorded_at -> Timestamptz,
    }
}

diesel::table! {
    access_keys (kid) {
        kid -> Text,
        community_id -> Uuid,
        private_key_enc -> Text,
        public_point -> Bytea,
        created_at -> Timestamptz,
        retire_after -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    passes (id) {
        id -> Uuid,
        community_id -> Uuid,
        account_id -> Uuid,
        kind -> Text,
        kid -> Text,
        door_codes -> Array<Int8>,
        uses -> Int4,
        not_before -> Timestamptz,
        expires_at -> Timestamptz,
        device_serial -> Nullable<Text>,
        visitor_name_enc -> Nullable<Text>,
        plate -> Nullable<Text>,
        cose_sign1 -> Bytea,
        revoked_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(doors -> communities (community_id));
diesel::joinable!(passes -> access_keys (kid));
diesel::joinable!(residents -> units (unit_id));
diesel::joinable!(access_events -> doors (door_id));

// verifiable logs, funds, disclosure (issue 23)
diesel::table! {
    log_heads (community_id, log) {
        community_id -> Uuid,
        log -> Text,
        size -> Int8,
    }
}

diesel::table! {
    log_entries (community_id, log, idx) {
        community_id -> Uuid,
        log -> Text,
        idx -> Int8,
        entry -> Bytea,
        appended_at -> Timestamptz,
    }
}

diesel::table! {
    log_nodes (community_id, log, level, idx) {
        community_id -> Uuid,
        log -> Text,
        level -> Int2,
        idx -> Int8,
        hash -> Bytea,
    }
}

diesel::table! {
    log_checkpoints (id) {
        id -> Uuid,
        community_id -> Uuid,
        log -> Text,
        size -> Int8,
        root -> Bytea,
        note -> Text,
        created_at -> Timestamptz,
        outbox_id -> Nullable<Int8>,
    }
}

diesel::table! {
    log_feeds (feed) {
        feed -> Text,
        last_seq -> Int8,
    }
}

diesel::table! {
    fund_plans (id) {
        id -> Uuid,
        community_id -> Uuid,
        status -> Text,
        title -> Text,
        budget_fen -> Int8,
        document -> Jsonb,
        plan_hash -> Bytea,
        filed_by_app -> Text,
        meeting_id -> Nullable<Uuid>,
        proposal_idx -> Nullable<Int2>,
        created_at -> Timestamptz,
        filed_at -> Nullable<Timestamptz>,
        decided_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    fund_plan_items (plan_id, position) {
        plan_id -> Uuid,
        position -> Int2,
        category -> Text,
        description -> Text,
        budget_fen -> Int8,
        contractor -> Text,
    }
}

diesel::table! {
    fund_plan_shares (plan_id, unit_id) {
        plan_id -> Uuid,
        unit_id -> Uuid,
        area_centi_m2 -> Int8,
        share_fen -> Int8,
    }
}

diesel::table! {
    fund_rules (community_id) {
        community_id -> Uuid,
        approvals_required -> Int2,
    }
}

diesel::table! {
    disbursements (id) {
        id -> Uuid,
        plan_id -> Uuid,
        community_id -> Uuid,
        amount_fen -> Int8,
        contractor -> Text,
        invoice -> Jsonb,
        acceptance -> Jsonb,
        evidence_hash -> Bytea,
        status -> Text,
        requested_by_app -> Text,
        requested_at -> Timestamptz,
        approved_at -> Nullable<Timestamptz>,
        bank_app -> Nullable<Text>,
        bank_ref -> Nullable<Text>,
        executed_on -> Nullable<Date>,
        counterparty -> Nullable<Text>,
        reported_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    disbursement_approvals (disbursement_id, account_id) {
        disbursement_id -> Uuid,
        account_id -> Uuid,
        device_serial -> Text,
        request_nonce -> Text,
        approved_at -> Timestamptz,
    }
}

diesel::table! {
    disclosure_items (id) {
        id -> Uuid,
        community_id -> Uuid,
        category -> Text,
        title -> Text,
        period -> Nullable<Text>,
        body -> Text,
        attachments -> Jsonb,
        corrects -> Nullable<Uuid>,
        publisher -> Text,
        published_at -> Timestamptz,
        log_index -> Int8,
    }
}

diesel::table! {
    disclosure_files (item_id, position) {
        item_id -> Uuid,
        position -> Int2,
        bytes -> Bytea,
    }
}

diesel::joinable!(disbursements -> fund_plans (plan_id));
diesel::joinable!(fund_plan_items -> fund_plans (plan_id));

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
    consents,
    enrollments,
    enrollment_events,
    face_attempts,
    registry_attempts,
    device_certificates,
    pins,
    binding_resets,
    registry_reviews,
    org_apps,
    org_app_communities,
    idempotency_keys,
    fee_items,
    bills,
    payment_orders,
    payment_order_bills,
    ledger_entries,
    receipts,
    refunds,
    meetings,
    meeting_proposals,
    meeting_notices,
    meeting_service_records,
    electronic_service_consents,
    meeting_proxies,
    meeting_reviews,
    proposal_attachments,
    roll_entries,
    ballot_sheets,
    chain_contracts,
    chain_outbox,
    co_owner_designations,
    co_owner_designation_signatures,
    vehicles,
    doors,
    residents,
    access_events,
    access_keys,
    passes,
    log_heads,
    log_entries,
    log_nodes,
    log_checkpoints,
    log_feeds,
    fund_plans,
    fund_plan_items,
    fund_plan_shares,
    fund_rules,
    disbursements,
    disbursement_approvals,
    disclosure_items,
    disclosure_files,
);

