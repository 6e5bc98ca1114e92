esultsocal async functnoiasync functiony(n,y(n, fn, ...)
  for Cs