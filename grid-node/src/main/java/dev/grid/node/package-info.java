/**
 * The composition root: builds a member from core, tx, persistence and net, runs its shards on Agrona agents, serves
 * client and admin requests, loads configuration. The only module that knows every other. Arrives with the cluster
 * issue.
 */
package dev.grid.node;
