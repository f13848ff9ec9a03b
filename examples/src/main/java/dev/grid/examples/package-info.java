/**
 * Runnable programs for Grid's three users: an embedding application, a thin-client application, an operator.
 */
package dev.grid.examples;
