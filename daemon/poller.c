/* poller: placeholder until written */
