package main

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	_ "github.com/lib/pq"  // registers driver "postgres"
	_ "modernc.org/sqlite" // registers driver "sqlite"
)

// todo is one item, as stored and as sent over JSON.
type todo struct {
	ID        int64     `json:"id"`
	Title     string    `json:"title"`
	Done      bool      `json:"done"`
	CreatedAt time.Time `json:"created_at"`
}

// SQL shared by both drivers: lib/pq and modernc.org/sqlite both take $N
// placeholders and INSERT ... RETURNING.
const (
	listSQL   = `SELECT id, title, done, created_at FROM todos ORDER BY id`
	getSQL    = `SELECT id, title, done, created_at FROM todos WHERE id = $1`
	insertSQL = `INSERT INTO todos (title, done, created_at) VALUES ($1, $2, $3) RETURNING id`
	deleteSQL = `DELETE FROM todos WHERE id = $1`
)

// createTableSQL returns the schema for driver; only the key column differs.
func createTableSQL(driver string) string {
	id := "INTEGER PRIMARY KEY AUTOINCREMENT"
	if driver == driverPostgres {
		id = "BIGSERIAL PRIMARY KEY"
	}
	return `CREATE TABLE IF NOT EXISTS todos (
	id         ` + id + `,
	title      TEXT      NOT NULL,
	done       BOOLEAN   NOT NULL DEFAULT FALSE,
	created_at TIMESTAMP NOT NULL
)`
}

// openDB opens the database described by c, checks that it answers, and
// creates the todos table if it does not exist.
func openDB(ctx context.Context, c config) (*sql.DB, error) {
	db, err := sql.Open(c.driver, c.dsn)
	if err != nil {
		return nil, fmt.Errorf("opening %s database: %w", c.driver, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connecting to %s database: %w", c.driver, err)
	}
	if _, err := db.ExecContext(ctx, createTableSQL(c.driver)); err != nil {
		db.Close()
		return nil, fmt.Errorf("creating table todos: %w", err)
	}
	return db, nil
}
