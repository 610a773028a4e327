/* log: placeholder until written */
