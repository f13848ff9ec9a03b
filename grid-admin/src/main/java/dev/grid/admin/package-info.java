/**
 * The admin command line tool (picocli), on the thin client. Arrives with the thin client issue.
 */
package dev.grid.admin;
