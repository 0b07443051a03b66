-- A person's NHS number, so that a record receiving a FHIR export can match the person.
-- Optional; when set, 10 digits (the service checks the modulus-11 check digit) and
-- held by one person only.
ALTER TABLE people ADD COLUMN nhs_number text UNIQUE CHECK (nhs_number ~ '^[0-9]{10}$');
