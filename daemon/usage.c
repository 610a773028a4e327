/* usage: placeholder until written */
