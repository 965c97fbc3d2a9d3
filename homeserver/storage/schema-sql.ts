/**
 * The schema, as an append-only list of migrations (index + 1 = version). Never edit a shipped
 * entry: add a new one. Each stream has its own PostgreSQL sequence shared by all of its writers
 * (Synapse's MultiWriterIdGenerator allocates from a sequence the same way) and one row per writer
 * in `stream_positions` holding that writer's persisted-up-to position.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE users (
    user_id text PRIMARY KEY, password_hash text, admin boolean NOT NULL DEFAULT false,
    created_ts bigint NOT NULL, displayname text, avatar_url text, deactivated boolean NOT NULL DEFAULT false
  );
  CREATE TABLE devices (
    user_id text NOT NULL, device_id text NOT NULL, display_name text, last_seen_ts bigint,
    PRIMARY KEY (user_id, device_id)
  );
  CREATE TABLE access_tokens (
    token_hash text PRIMARY KEY, user_id text NOT NULL, device_id text NOT NULL, created_ts bigint NOT NULL
  );
  CREATE INDEX access_tokens_user ON access_tokens (user_id, device_id);
  CREATE TABLE registration_nonces (nonce text PRIMARY KEY, created_ts bigint NOT NULL);
  CREATE TABLE user_filters (filter_id bigserial PRIMARY KEY, user_id text NOT NULL, filter jsonb NOT NULL);

  CREATE TABLE rooms (
    room_id text PRIMARY KEY, creator text NOT NULL, room_version text NOT NULL,
    is_public boolean NOT NULL DEFAULT false, created_ts bigint NOT NULL
  );
  CREATE TABLE room_aliases (alias text PRIMARY KEY, room_id text NOT NULL, creator text NOT NULL);
  CREATE INDEX room_aliases_room ON room_aliases (room_id);

  CREATE SEQUENCE events_stream_seq;
  CREATE TABLE events (
    stream_ordering bigint PRIMARY KEY, event_id text NOT NULL UNIQUE, room_id text NOT NULL,
    type text NOT NULL, state_key text, sender text NOT NULL, content jsonb NOT NULL,
    origin_server_ts bigint NOT NULL, depth bigint NOT NULL, instance_name text NOT NULL,
    txn_key text UNIQUE, redacted_by text, prev_content jsonb, membership text
  );
  CREATE INDEX events_room_order ON events (room_id, stream_ordering);
  CREATE INDEX events_room_state ON events (room_id, type, state_key, stream_ordering) WHERE state_key IS NOT NULL;
  CREATE INDEX events_member_target ON events (state_key, stream_ordering) WHERE type = 'm.room.member';

  CREATE TABLE current_state (
    room_id text NOT NULL, type text NOT NULL, state_key text NOT NULL, event_id text NOT NULL,
    stream_ordering bigint NOT NULL, membership text,
    PRIMARY KEY (room_id, type, state_key)
  );
  CREATE INDEX current_state_members ON current_state (state_key, membership) WHERE type = 'm.room.member';
  CREATE TABLE room_forgotten (user_id text NOT NULL, room_id text NOT NULL, PRIMARY KEY (user_id, room_id));

  CREATE TABLE stream_positions (
    stream_name text NOT NULL, instance_name text NOT NULL, stream_id bigint NOT NULL,
    PRIMARY KEY (stream_name, instance_name)
  );

  CREATE SEQUENCE typing_seq;
  CREATE TABLE typing_stream (stream_id bigint PRIMARY KEY, room_id text NOT NULL, user_ids jsonb NOT NULL);
  CREATE INDEX typing_stream_room ON typing_stream (room_id, stream_id);

  CREATE SEQUENCE receipts_seq;
  CREATE TABLE receipts (
    room_id text NOT NULL, receipt_type text NOT NULL, user_id text NOT NULL, event_id text NOT NULL,
    data jsonb NOT NULL, stream_id bigint NOT NULL, PRIMARY KEY (room_id, receipt_type, user_id)
  );
  CREATE INDEX receipts_stream ON receipts (stream_id);

  CREATE SEQUENCE to_device_seq;
  CREATE TABLE device_inbox (
    stream_id bigint PRIMARY KEY, user_id text NOT NULL, device_id text NOT NULL, message jsonb NOT NULL
  );
  CREATE INDEX device_inbox_target ON device_inbox (user_id, device_id, stream_id);

  CREATE SEQUENCE account_data_seq;
  CREATE TABLE account_data (
    user_id text NOT NULL, room_id text NOT NULL, type text NOT NULL, content jsonb NOT NULL,
    stream_id bigint NOT NULL, PRIMARY KEY (user_id, room_id, type)
  );
  CREATE INDEX account_data_stream ON account_data (user_id, stream_id);

  CREATE SEQUENCE presence_seq;
  CREATE TABLE presence (
    user_id text PRIMARY KEY, state text NOT NULL, status_msg text, last_active_ts bigint NOT NULL,
    currently_active boolean NOT NULL DEFAULT false, stream_id bigint NOT NULL
  );
  CREATE INDEX presence_stream ON presence (stream_id);

  CREATE SEQUENCE device_lists_seq;
  CREATE TABLE device_lists_stream (stream_id bigint PRIMARY KEY, user_id text NOT NULL);
  CREATE TABLE e2e_device_keys (user_id text NOT NULL, device_id text NOT NULL, keys jsonb NOT NULL, PRIMARY KEY (user_id, device_id));
  CREATE TABLE e2e_one_time_keys (
    user_id text NOT NULL, device_id text NOT NULL, algorithm text NOT NULL, key_id text NOT NULL, key jsonb NOT NULL,
    PRIMARY KEY (user_id, device_id, algorithm, key_id)
  );
  `,
  // 2. Transaction IDs are scoped to the device AND the endpoint (spec "Transaction identifiers": a
  // transaction ID's scope is one device and one HTTP endpoint), so the same txnId in another room, for
  // another event type, or redacting another event is a new transaction. txn_key keeps
  // `user|device|txnId` (what unsigned.transaction_id is echoed from); txn_scope names the
  // endpoint within the room: `send <event type>` or `redact <redacted event ID>` (the kind is the
  // first word, the rest is verbatim, so no escaping is needed). Rows sent before this version did
  // not record their endpoint: a redaction with txn_key is taken to have come from /redact (it may
  // have come from /send/m.room.redaction, whose retry then misses it), the rest from /send.
  // The unique key becomes (txn_key, room_id, txn_scope); since PostgreSQL never finds two NULLs
  // equal, a txn_key without a scope is refused outright rather than left undeduplicated.
  `
  ALTER TABLE events ADD COLUMN txn_scope text;
  UPDATE events SET txn_scope = CASE
      WHEN type = 'm.room.redaction' AND content->>'redacts' IS NOT NULL THEN 'redact ' || (content->>'redacts')
      ELSE 'send ' || type END
    WHERE txn_key IS NOT NULL;
  ALTER TABLE events DROP CONSTRAINT events_txn_key_key;
  CREATE UNIQUE INDEX events_txn ON events (txn_key, room_id, txn_scope);
  ALTER TABLE events ADD CONSTRAINT events_txn_scoped CHECK (txn_key IS NULL OR txn_scope IS NOT NULL);
  `,
  // 3. sendToDevice transactions already delivered (spec: PUT /sendToDevice/{eventType}/{txnId} is
  // idempotent like every txnId endpoint: a retry must not deliver the messages again). Keyed by
  // the sending device and the endpoint (the event type is part of its path); the to_device
  // writer records a row in the same transaction as the device_inbox rows and prunes old ones.
  `
  CREATE TABLE to_device_txns (
    user_id text NOT NULL, device_id text NOT NULL, event_type text NOT NULL, txn_id text NOT NULL, created_ts bigint NOT NULL,
    PRIMARY KEY (user_id, device_id, event_type, txn_id)
  );
  CREATE INDEX to_device_txns_created ON to_device_txns (created_ts);
  `,
];
