/* metrics: placeholder until written */
