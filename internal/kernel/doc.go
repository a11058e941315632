// Package kernel holds facts about the running kernel that decide what Sonde can load.
package kernel
