-- One database per service that has one (DESIGN.md: a service never reads another's tables).
CREATE DATABASE floodgate_catalog;
CREATE DATABASE floodgate_booking;
CREATE DATABASE floodgate_payment;
CREATE DATABASE floodgate_gateway;
