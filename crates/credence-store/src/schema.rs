//! The tables, written by hand (no `diesel print-schema`): one description serves both
//! backends because the migrations give both the same shape.

diesel::table! {
    customer_categories (id) {
        id -> BigInt,
        reference -> Text,
        reference_folded -> Text,
        name -> Text,
        parent_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    customer_segmentations (id) {
        id -> BigInt,
        reference -> Text,
        name -> Text,
    }
}

diesel::table! {
    payment_types (id) {
        id -> BigInt,
        reference -> Text,
        name -> Text,
    }
}

diesel::table! {
    regions (id) {
        id -> BigInt,
        name -> Text,
        parent_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    currencies (code) {
        code -> Text,
        exchange_rate -> Text,
        is_organization -> Bool,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        reference -> Text,
        name -> Text,
        email -> Nullable<Text>,
        role -> Text,
        customer_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    customers (id) {
        id -> BigInt,
        uuid -> Text,
        reference -> Text,
        reference_folded -> Text,
        reference2 -> Nullable<Text>,
        name -> Text,
        name_folded -> Text,
        category_id -> BigInt,
        parent_id -> Nullable<BigInt>,
        bill_with_parent -> Bool,
        segmentation_id -> Nullable<BigInt>,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        mobile -> Nullable<Text>,
        fax -> Nullable<Text>,
        comment -> Nullable<Text>,
        barcode -> Nullable<Text>,
        is_same_address -> Bool,
        billing_country -> Nullable<Text>,
        billing_city -> Nullable<Text>,
        billing_postal_code -> Nullable<Text>,
        billing_address -> Nullable<Text>,
        billing_latitude -> Nullable<Double>,
        billing_longitude -> Nullable<Double>,
        country -> Nullable<Text>,
        city -> Nullable<Text>,
        postal_code -> Nullable<Text>,
        address -> Nullable<Text>,
        latitude -> Nullable<Double>,
        longitude -> Nullable<Double>,
        is_active -> Bool,
        on_hold -> Bool,
        on_hold_reason -> Nullable<Text>,
        created_by -> Nullable<BigInt>,
        due_date_number -> Nullable<BigInt>,
        due_date_type -> Nullable<Text>,
        website -> Nullable<Text>,
        tax_number -> Nullable<Text>,
        company_registration_number -> Nullable<Text>,
        currency -> Text,
        customer_risk -> Nullable<Text>,
        customer_risk_color -> Nullable<Text>,
        region_id -> Nullable<BigInt>,
        date_created -> Timestamp,
        last_updated -> Timestamp,
        archived_at -> Nullable<Timestamp>,
        logo -> Nullable<Text>,
        revision -> BigInt,
    }
}

diesel::table! {
    customer_terms (token, is_active, customer_id) {
        token -> Text,
        is_active -> Bool,
        customer_id -> BigInt,
        weight -> Integer,
    }
}

diesel::table! {
    customer_payment_types (customer_id, position) {
        customer_id -> BigInt,
        position -> Integer,
        payment_type_id -> BigInt,
    }
}

diesel::table! {
    customer_contacts (id) {
        id -> BigInt,
        customer_id -> BigInt,
        position -> Integer,
        name -> Nullable<Text>,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
    }
}

diesel::table! {
    customer_projects (id) {
        id -> BigInt,
        customer_id -> BigInt,
        position -> Integer,
        name -> Text,
    }
}

diesel::table! {
    api_keys (id) {
        id -> BigInt,
        user_id -> BigInt,
        prefix -> Text,
        hash -> Text,
        name -> Nullable<Text>,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    accounts (customer_id) {
        customer_id -> BigInt,
        currency -> Text,
        balance -> BigInt,
        credit_limit -> BigInt,
        reserved -> BigInt,
        updated_at -> Timestamp,
        has_alerts -> Bool,
        live -> Bool,
    }
}

diesel::table! {
    account_alerts (account_id, threshold) {
        account_id -> BigInt,
        threshold -> BigInt,
        armed -> Bool,
    }
}

diesel::table! {
    credit_limit_history (id) {
        id -> BigInt,
        account_id -> BigInt,
        old_limit -> Nullable<BigInt>,
        new_limit -> BigInt,
        user_id -> Nullable<BigInt>,
        at -> Timestamp,
        reason -> Nullable<Text>,
        approved_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    reservations (id) {
        id -> BigInt,
        account_id -> BigInt,
        customer_id -> BigInt,
        amount -> BigInt,
        captured -> Nullable<BigInt>,
        status -> Text,
        description -> Nullable<Text>,
        expires_at -> Timestamp,
        created_at -> Timestamp,
        closed_at -> Nullable<Timestamp>,
        idempotency -> Nullable<Text>,
    }
}

diesel::table! {
    ledger_entries (id) {
        id -> BigInt,
        account_id -> BigInt,
        kind -> Text,
        balance_delta -> BigInt,
        reserved_delta -> BigInt,
        balance_after -> BigInt,
        reserved_after -> BigInt,
        description -> Nullable<Text>,
        reservation_id -> Nullable<BigInt>,
        user_id -> Nullable<BigInt>,
        at -> Timestamp,
        idempotency -> Nullable<Text>,
    }
}

diesel::table! {
    idempotency_keys (scope, key) {
        scope -> Text,
        key -> Text,
        fingerprint -> Text,
        state -> Text,
        response_status -> Nullable<Integer>,
        response_body -> Nullable<Text>,
        lease_until -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    products (code) {
        code -> Text,
        titles -> Text,
        descriptions -> Text,
        available -> Bool,
        price_minor -> BigInt,
        currency -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    product_attributes (product_code, code) {
        product_code -> Text,
        position -> Integer,
        code -> Text,
        kind -> Text,
        is_mandatory -> Bool,
        min_length -> Nullable<BigInt>,
        max_length -> Nullable<BigInt>,
        titles -> Text,
        helps -> Text,
        options -> Nullable<Text>,
    }
}

diesel::table! {
    task_templates (customer_id, code) {
        customer_id -> BigInt,
        code -> Text,
        name -> Text,
        titles -> Text,
        descriptions -> Text,
        product_code -> Text,
        attributes -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    tasks (id) {
        id -> BigInt,
        customer_id -> BigInt,
        customer_ref -> Nullable<Text>,
        template_code -> Text,
        product_code -> Text,
        input -> Text,
        quantity -> BigInt,
        amount_minor -> BigInt,
        currency -> Text,
        state -> Text,
        reservation_id -> BigInt,
        account_id -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    blobs (key) {
        key -> Text,
        bytes -> Binary,
        created_at -> Timestamp,
    }
}

diesel::table! {
    documents (uuid) {
        uuid -> Text,
        file_name -> Text,
        mime_type -> Text,
        description -> Nullable<Text>,
        internal -> Bool,
        blob_key -> Nullable<Text>,
        size -> Nullable<BigInt>,
        thumbnail_key -> Nullable<Text>,
        content_url -> Nullable<Text>,
        thumb_url -> Nullable<Text>,
        creator_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    customer_documents (customer_id, document_uuid) {
        customer_id -> BigInt,
        document_uuid -> Text,
        attached_at -> Timestamp,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        tx -> BigInt,
        #[sql_name = "type"]
        kind -> Text,
        customer_id -> BigInt,
        customer_reference -> Text,
        sequence -> BigInt,
        object -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    event_sequences (customer_id) {
        customer_id -> BigInt,
        last -> BigInt,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> BigInt,
        customer_id -> Nullable<BigInt>,
        url -> Text,
        types -> Text,
        description -> Nullable<Text>,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_secrets (id) {
        id -> BigInt,
        endpoint_id -> BigInt,
        secret -> Text,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        endpoint_id -> BigInt,
        event_id -> BigInt,
        customer_id -> BigInt,
        sequence -> BigInt,
        attempt -> Integer,
        status -> Text,
        due_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        claims -> BigInt,
        response_status -> Nullable<Integer>,
        error -> Nullable<Text>,
        duration_ms -> Nullable<BigInt>,
        attempted_at -> Nullable<Timestamp>,
        next_attempt_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_queue_position (id) {
        id -> Integer,
        last_tx -> BigInt,
        last_id -> BigInt,
    }
}

diesel::table! {
    credit_limit_requests (id) {
        id -> BigInt,
        account_id -> BigInt,
        currency -> Text,
        requested_limit -> BigInt,
        previous_limit -> BigInt,
        requested_by -> Nullable<BigInt>,
        reason -> Nullable<Text>,
        status -> Text,
        decided_by -> Nullable<BigInt>,
        decided_at -> Nullable<Timestamp>,
        decision_reason -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(api_keys -> users (user_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(webhook_secrets -> webhook_endpoints (endpoint_id));
diesel::joinable!(customer_documents -> customers (customer_id));
diesel::joinable!(customer_documents -> documents (document_uuid));
diesel::joinable!(customer_payment_types -> payment_types (payment_type_id));

diesel::allow_tables_to_appear_in_same_query!(
    customer_categories,
    customer_segmentations,
    payment_types,
    regions,
    currencies,
    users,
    customers,
    customer_terms,
    customer_payment_types,
    customer_contacts,
    customer_projects,
    api_keys,
    accounts,
    account_alerts,
    credit_limit_history,
    credit_limit_requests,
    reservations,
    ledger_entries,
    idempotency_keys,
    products,
    product_attributes,
    task_templates,
    tasks,
    blobs,
    documents,
    customer_documents,
    events,
    event_sequences,
    webhook_endpoints,
    webhook_secrets,
    webhook_deliveries,
    webhook_queue_position,
);
