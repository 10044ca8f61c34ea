-- +goose Up
ALTER TABLE items ADD COLUMN sku text UNIQUE;

-- +goose Down
ALTER TABLE items DROP COLUMN sku;
