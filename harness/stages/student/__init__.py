"""The student stage: build, tokenise, distil, select, predict and save one student."""
