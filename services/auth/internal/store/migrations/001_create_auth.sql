-- +goose Up
-- The auth schema: each client's POS connection with its encrypted tokens, and the consents in
-- progress (OAuth state and PKCE verifier). No secret is stored in clear: tokens and verifiers
-- are AES-GCM ciphertexts with the id of the key beside them, and a state is kept only as the
-- SHA-256 of its secret half.

-- One row per client that ever gave consent; no row means NOT_CONNECTED.
CREATE TABLE connections (
    client_id          text        PRIMARY KEY,
    -- posimport.v1.ConnectionStatus: 2 CONNECTED, 3 ENABLED, 4 NEEDS_REAUTH, 5 DISCONNECTED.
    status             smallint    NOT NULL CHECK (status BETWEEN 2 AND 5),
    -- posimport.v1.PosProvider the consent was given for.
    provider           smallint    NOT NULL CHECK (provider > 0),
    account_id         text        NOT NULL CHECK (account_id <> ''),
    -- The integration contact's decision. It outlives NEEDS_REAUTH, so that a re-consent to the
    -- same account returns to ENABLED; Disconnect clears it.
    enabled            boolean     NOT NULL DEFAULT false,
    consent_subject    text        NOT NULL,
    consent_time       timestamptz NOT NULL,
    enable_time        timestamptz,
    last_refresh_time  timestamptz,
    last_error         text        NOT NULL DEFAULT '',
    last_error_time    timestamptz,
    -- Bumped on every token write; part of the ciphertexts' additional data, so an older
    -- ciphertext put back into the row does not decrypt.
    generation         bigint      NOT NULL CHECK (generation > 0),
    access_token_enc   bytea,
    access_token_kid   text,
    refresh_token_enc  bytea,
    refresh_token_kid  text,
    access_expire_time timestamptz,
    update_time        timestamptz NOT NULL DEFAULT now(),
    CHECK ((access_token_enc IS NULL) = (refresh_token_enc IS NULL)),
    CHECK ((access_token_enc IS NULL) = (access_token_kid IS NULL)),
    CHECK ((refresh_token_enc IS NULL) = (refresh_token_kid IS NULL)),
    CHECK ((access_token_enc IS NULL) = (access_expire_time IS NULL)),
    -- CONNECTED and ENABLED hold tokens; NEEDS_REAUTH and DISCONNECTED hold none.
    CHECK ((status IN (2, 3)) = (access_token_enc IS NOT NULL)),
    CHECK (status <> 3 OR enabled)
);
CREATE INDEX connections_status ON connections (status, client_id);

-- A consent in progress: the one-time state of an authorize URL, valid for 10 minutes.
CREATE TABLE connect_states (
    -- The public half of the state, which finds the row.
    state_id     text        PRIMARY KEY,
    -- SHA-256 of the secret half, compared in constant time.
    secret_hash  bytea       NOT NULL CHECK (length(secret_hash) = 32),
    client_id    text        NOT NULL,
    provider     smallint    NOT NULL CHECK (provider > 0),
    -- The person who asked for the consent (the JWT subject).
    subject      text        NOT NULL,
    verifier_enc bytea       NOT NULL,
    verifier_kid text        NOT NULL,
    -- The S256 challenge sent in the authorize URL; the verifier must still match it.
    challenge    text        NOT NULL,
    create_time  timestamptz NOT NULL,
    expire_time  timestamptz NOT NULL,
    CHECK (expire_time > create_time)
);
CREATE INDEX connect_states_client ON connect_states (client_id, expire_time);
CREATE INDEX connect_states_expire ON connect_states (expire_time);

-- +goose Down
DROP TABLE connect_states;
DROP TABLE connections;
