// Package databasesql instruments database/sql: one CLIENT span per Query
// or Exec call of DB, Tx, Conn and Stmt (the ctx-less and QueryRow variants
// included), with the database system of the driver in use.
package databasesql
