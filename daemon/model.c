/* model: placeholder until written */
