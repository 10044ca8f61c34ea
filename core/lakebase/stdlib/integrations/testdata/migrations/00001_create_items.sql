-- +goose Up
CREATE TABLE items (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL,
    price      numeric(12,2) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE items;
