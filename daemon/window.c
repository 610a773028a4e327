/* window: placeholder until written */
