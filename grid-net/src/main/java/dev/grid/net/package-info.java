/**
 * How bytes move: the Aeron transport between members (implementing {@link dev.grid.core.spi.Transport}) and the TCP
 * endpoint for thin clients and the admin tool. Arrives with the cluster issue.
 */
package dev.grid.net;
