/* sigv4: placeholder until written */
