/* aws_credentials: placeholder until written */
