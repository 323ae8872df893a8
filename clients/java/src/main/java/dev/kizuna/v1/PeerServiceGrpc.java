package dev.kizuna.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * PeerService lists the devices this daemon knows, connects to them, pairs with them and sets
 * what each trusted peer may do.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class PeerServiceGrpc {

  private PeerServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "kizuna.v1.PeerService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.ListPeersRequest,
      dev.kizuna.v1.ListPeersResponse> getListPeersMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListPeers",
      requestType = dev.kizuna.v1.ListPeersRequest.class,
      responseType = dev.kizuna.v1.ListPeersResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.ListPeersRequest,
      dev.kizuna.v1.ListPeersResponse> getListPeersMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.ListPeersRequest, dev.kizuna.v1.ListPeersResponse> getListPeersMethod;
    if ((getListPeersMethod = PeerServiceGrpc.getListPeersMethod) == null) {
      synchronized (PeerServiceGrpc.class) {
        if ((getListPeersMethod = PeerServiceGrpc.getListPeersMethod) == null) {
          PeerServiceGrpc.getListPeersMethod = getListPeersMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.ListPeersRequest, dev.kizuna.v1.ListPeersResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListPeers"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.ListPeersRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.ListPeersResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PeerServiceMethodDescriptorSupplier("ListPeers"))
              .build();
        }
      }
    }
    return getListPeersMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.GetPeerRequest,
      dev.kizuna.v1.GetPeerResponse> getGetPeerMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetPeer",
      requestType = dev.kizuna.v1.GetPeerRequest.class,
      responseType = dev.kizuna.v1.GetPeerResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.GetPeerRequest,
      dev.kizuna.v1.GetPeerResponse> getGetPeerMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.GetPeerRequest, dev.kizuna.v1.GetPeerResponse> getGetPeerMethod;
    if ((getGetPeerMethod = PeerServiceGrpc.getGetPeerMethod) == null) {
      synchronized (PeerServiceGrpc.class) {
        if ((getGetPeerMethod = PeerServiceGrpc.getGetPeerMethod) == null) {
          PeerServiceGrpc.getGetPeerMethod = getGetPeerMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.GetPeerRequest, dev.kizuna.v1.GetPeerResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetPeer"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.GetPeerRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.GetPeerResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PeerServiceMethodDescriptorSupplier("GetPeer"))
              .build();
        }
      }
    }
    return getGetPeerMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.AddPeerRequest,
      dev.kizuna.v1.AddPeerResponse> getAddPeerMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "AddPeer",
      requestType = dev.kizuna.v1.AddPeerRequest.class,
      responseType = dev.kizuna.v1.AddPeerResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.AddPeerRequest,
      dev.kizuna.v1.AddPeerResponse> getAddPeerMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.AddPeerRequest, dev.kizuna.v1.AddPeerResponse> getAddPeerMethod;
    if ((getAddPeerMethod = PeerServiceGrpc.getAddPeerMethod) == null) {
      synchronized (PeerServiceGrpc.class) {
        if ((getAddPeerMethod = PeerServiceGrpc.getAddPeerMethod) == null) {
          PeerServiceGrpc.getAddPeerMethod = getAddPeerMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.AddPeerRequest, dev.kizuna.v1.AddPeerResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "AddPeer"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.AddPeerRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.AddPeerResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PeerServiceMethodDescriptorSupplier("AddPeer"))
              .build();
        }
      }
    }
    return getAddPeerMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.RemovePeerRequest,
      dev.kizuna.v1.RemovePeerResponse> getRemovePeerMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RemovePeer",
      requestType = dev.kizuna.v1.RemovePeerRequest.class,
      responseType = dev.kizuna.v1.RemovePeerResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.RemovePeerRequest,
      dev.kizuna.v1.RemovePeerResponse> getRemovePeerMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.RemovePeerRequest, dev.kizuna.v1.RemovePeerResponse> getRemovePeerMethod;
    if ((getRemovePeerMethod = PeerServiceGrpc.getRemovePeerMethod) == null) {
      synchronized (PeerServiceGrpc.class) {
        if ((getRemovePeerMethod = PeerServiceGrpc.getRemovePeerMethod) == null) {
          PeerServiceGrpc.getRemovePeerMethod = getRemovePeerMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.RemovePeerRequest, dev.kizuna.v1.RemovePeerResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RemovePeer"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.RemovePeerRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.RemovePeerResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PeerServiceMethodDescriptorSupplier("RemovePeer"))
              .build();
        }
      }
    }
    return getRemovePeerMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.ConnectPeerRequest,
      dev.kizuna.v1.ConnectPeerResponse> getConnectPeerMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ConnectPeer",
      requestType = dev.kizuna.v1.ConnectPeerRequest.class,
      responseType = dev.kizuna.v1.ConnectPeerResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.ConnectPeerRequest,
      dev.kizuna.v1.ConnectPeerResponse> getConnectPeerMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.ConnectPeerRequest, dev.kizuna.v1.ConnectPeerResponse> getConnectPeerMethod;
    if ((getConnectPeerMethod = PeerServiceGrpc.getConnectPeerMethod) == null) {
      synchronized (PeerServiceGrpc.class) {
        if ((getConnectPeerMethod = PeerServiceGrpc.getConnectPeerMethod) == null) {
          PeerServiceGrpc.getConnectPeerMethod = getConnectPeerMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.ConnectPeerRequest, dev.kizuna.v1.ConnectPeerResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ConnectPeer"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.ConnectPeerRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.ConnectPeerResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PeerServiceMethodDescriptorSupplier("ConnectPeer"))
              .build();
        }
      }
    }
    return getConnectPeerMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.DisconnectPeerRequest,
      dev.kizuna.v1.DisconnectPeerResponse> getDisconnectPeerMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "DisconnectPeer",
      requestType = dev.kizuna.v1.DisconnectPeerRequest.class,
      responseType = dev.kizuna.v1.DisconnectPeerResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.DisconnectPeerRequest,
      dev.kizuna.v1.DisconnectPeerResponse> getDisconnectPeerMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.DisconnectPeerRequest, dev.kizuna.v1.DisconnectPeerResponse> getDisconnectPeerMethod;
    if ((getDisconnectPeerMethod = PeerServiceGrpc.getDisconnectPeerMethod) == null) {
      synchronized (PeerServiceGrpc.class) {
        if ((getDisconnectPeerMethod = PeerServiceGrpc.getDisconnectPeerMethod) == null) {
          PeerServiceGrpc.getDisconnectPeerMethod = getDisconnectPeerMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.DisconnectPeerRequest, dev.kizuna.v1.DisconnectPeerResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "DisconnectPeer"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.DisconnectPeerRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.DisconnectPeerResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PeerServiceMethodDescriptorSupplier("DisconnectPeer"))
              .build();
        }
      }
    }
    return getDisconnectPeerMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.RequestPairingRequest,
      dev.kizuna.v1.RequestPairingResponse> getRequestPairingMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RequestPairing",
      requestType = dev.kizuna.v1.RequestPairingRequest.class,
      responseType = dev.kizuna.v1.RequestPairingResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.RequestPairingRequest,
      dev.kizuna.v1.RequestPairingResponse> getRequestPairingMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.RequestPairingRequest, dev.kizuna.v1.RequestPairingResponse> getRequestPairingMethod;
    if ((getRequestPairingMethod = PeerServiceGrpc.getRequestPairingMethod) == null) {
      synchronized (PeerServiceGrpc.class) {
        if ((getRequestPairingMethod = PeerServiceGrpc.getRequestPairingMethod) == null) {
          PeerServiceGrpc.getRequestPairingMethod = getRequestPairingMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.RequestPairingRequest, dev.kizuna.v1.RequestPairingResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RequestPairing"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.RequestPairingRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.RequestPairingResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PeerServiceMethodDescriptorSupplier("RequestPairing"))
              .build();
        }
      }
    }
    return getRequestPairingMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.ListPairingsRequest,
      dev.kizuna.v1.ListPairingsResponse> getListPairingsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListPairings",
      requestType = dev.kizuna.v1.ListPairingsRequest.class,
      responseType = dev.kizuna.v1.ListPairingsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.ListPairingsRequest,
      dev.kizuna.v1.ListPairingsResponse> getListPairingsMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.ListPairingsRequest, dev.kizuna.v1.ListPairingsResponse> getListPairingsMethod;
    if ((getListPairingsMethod = PeerServiceGrpc.getListPairingsMethod) == null) {
      synchronized (PeerServiceGrpc.class) {
        if ((getListPairingsMethod = PeerServiceGrpc.getListPairingsMethod) == null) {
          PeerServiceGrpc.getListPairingsMethod = getListPairingsMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.ListPairingsRequest, dev.kizuna.v1.ListPairingsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListPairings"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.ListPairingsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.ListPairingsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PeerServiceMethodDescriptorSupplier("ListPairings"))
              .build();
        }
      }
    }
    return getListPairingsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.ConfirmPairingRequest,
      dev.kizuna.v1.ConfirmPairingResponse> getConfirmPairingMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ConfirmPairing",
      requestType = dev.kizuna.v1.ConfirmPairingRequest.class,
      responseType = dev.kizuna.v1.ConfirmPairingResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.ConfirmPairingRequest,
      dev.kizuna.v1.ConfirmPairingResponse> getConfirmPairingMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.ConfirmPairingRequest, dev.kizuna.v1.ConfirmPairingResponse> getConfirmPairingMethod;
    if ((getConfirmPairingMethod = PeerServiceGrpc.getConfirmPairingMethod) == null) {
      synchronized (PeerServiceGrpc.class) {
        if ((getConfirmPairingMethod = PeerServiceGrpc.getConfirmPairingMethod) == null) {
          PeerServiceGrpc.getConfirmPairingMethod = getConfirmPairingMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.ConfirmPairingRequest, dev.kizuna.v1.ConfirmPairingResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ConfirmPairing"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.ConfirmPairingRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.ConfirmPairingResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PeerServiceMethodDescriptorSupplier("ConfirmPairing"))
              .build();
        }
      }
    }
    return getConfirmPairingMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.RejectPairingRequest,
      dev.kizuna.v1.RejectPairingResponse> getRejectPairingMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RejectPairing",
      requestType = dev.kizuna.v1.RejectPairingRequest.class,
      responseType = dev.kizuna.v1.RejectPairingResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.RejectPairingRequest,
      dev.kizuna.v1.RejectPairingResponse> getRejectPairingMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.RejectPairingRequest, dev.kizuna.v1.RejectPairingResponse> getRejectPairingMethod;
    if ((getRejectPairingMethod = PeerServiceGrpc.getRejectPairingMethod) == null) {
      synchronized (PeerServiceGrpc.class) {
        if ((getRejectPairingMethod = PeerServiceGrpc.getRejectPairingMethod) == null) {
          PeerServiceGrpc.getRejectPairingMethod = getRejectPairingMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.RejectPairingRequest, dev.kizuna.v1.RejectPairingResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RejectPairing"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.RejectPairingRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.RejectPairingResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PeerServiceMethodDescriptorSupplier("RejectPairing"))
              .build();
        }
      }
    }
    return getRejectPairingMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.CancelPairingRequest,
      dev.kizuna.v1.CancelPairingResponse> getCancelPairingMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CancelPairing",
      requestType = dev.kizuna.v1.CancelPairingRequest.class,
      responseType = dev.kizuna.v1.CancelPairingResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.CancelPairingRequest,
      dev.kizuna.v1.CancelPairingResponse> getCancelPairingMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.CancelPairingRequest, dev.kizuna.v1.CancelPairingResponse> getCancelPairingMethod;
    if ((getCancelPairingMethod = PeerServiceGrpc.getCancelPairingMethod) == null) {
      synchronized (PeerServiceGrpc.class) {
        if ((getCancelPairingMethod = PeerServiceGrpc.getCancelPairingMethod) == null) {
          PeerServiceGrpc.getCancelPairingMethod = getCancelPairingMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.CancelPairingRequest, dev.kizuna.v1.CancelPairingResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CancelPairing"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.CancelPairingRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.CancelPairingResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PeerServiceMethodDescriptorSupplier("CancelPairing"))
              .build();
        }
      }
    }
    return getCancelPairingMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.TrustPeerRequest,
      dev.kizuna.v1.TrustPeerResponse> getTrustPeerMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "TrustPeer",
      requestType = dev.kizuna.v1.TrustPeerRequest.class,
      responseType = dev.kizuna.v1.TrustPeerResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.TrustPeerRequest,
      dev.kizuna.v1.TrustPeerResponse> getTrustPeerMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.TrustPeerRequest, dev.kizuna.v1.TrustPeerResponse> getTrustPeerMethod;
    if ((getTrustPeerMethod = PeerServiceGrpc.getTrustPeerMethod) == null) {
      synchronized (PeerServiceGrpc.class) {
        if ((getTrustPeerMethod = PeerServiceGrpc.getTrustPeerMethod) == null) {
          PeerServiceGrpc.getTrustPeerMethod = getTrustPeerMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.TrustPeerRequest, dev.kizuna.v1.TrustPeerResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "TrustPeer"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.TrustPeerRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.TrustPeerResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PeerServiceMethodDescriptorSupplier("TrustPeer"))
              .build();
        }
      }
    }
    return getTrustPeerMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.UpdatePeerPermissionsRequest,
      dev.kizuna.v1.UpdatePeerPermissionsResponse> getUpdatePeerPermissionsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "UpdatePeerPermissions",
      requestType = dev.kizuna.v1.UpdatePeerPermissionsRequest.class,
      responseType = dev.kizuna.v1.UpdatePeerPermissionsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.UpdatePeerPermissionsRequest,
      dev.kizuna.v1.UpdatePeerPermissionsResponse> getUpdatePeerPermissionsMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.UpdatePeerPermissionsRequest, dev.kizuna.v1.UpdatePeerPermissionsResponse> getUpdatePeerPermissionsMethod;
    if ((getUpdatePeerPermissionsMethod = PeerServiceGrpc.getUpdatePeerPermissionsMethod) == null) {
      synchronized (PeerServiceGrpc.class) {
        if ((getUpdatePeerPermissionsMethod = PeerServiceGrpc.getUpdatePeerPermissionsMethod) == null) {
          PeerServiceGrpc.getUpdatePeerPermissionsMethod = getUpdatePeerPermissionsMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.UpdatePeerPermissionsRequest, dev.kizuna.v1.UpdatePeerPermissionsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "UpdatePeerPermissions"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.UpdatePeerPermissionsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.UpdatePeerPermissionsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PeerServiceMethodDescriptorSupplier("UpdatePeerPermissions"))
              .build();
        }
      }
    }
    return getUpdatePeerPermissionsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.ForgetPeerRequest,
      dev.kizuna.v1.ForgetPeerResponse> getForgetPeerMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ForgetPeer",
      requestType = dev.kizuna.v1.ForgetPeerRequest.class,
      responseType = dev.kizuna.v1.ForgetPeerResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.ForgetPeerRequest,
      dev.kizuna.v1.ForgetPeerResponse> getForgetPeerMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.ForgetPeerRequest, dev.kizuna.v1.ForgetPeerResponse> getForgetPeerMethod;
    if ((getForgetPeerMethod = PeerServiceGrpc.getForgetPeerMethod) == null) {
      synchronized (PeerServiceGrpc.class) {
        if ((getForgetPeerMethod = PeerServiceGrpc.getForgetPeerMethod) == null) {
          PeerServiceGrpc.getForgetPeerMethod = getForgetPeerMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.ForgetPeerRequest, dev.kizuna.v1.ForgetPeerResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ForgetPeer"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.ForgetPeerRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.ForgetPeerResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PeerServiceMethodDescriptorSupplier("ForgetPeer"))
              .build();
        }
      }
    }
    return getForgetPeerMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static PeerServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<PeerServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<PeerServiceStub>() {
        @java.lang.Override
        public PeerServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new PeerServiceStub(channel, callOptions);
        }
      };
    return PeerServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static PeerServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<PeerServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<PeerServiceBlockingV2Stub>() {
        @java.lang.Override
        public PeerServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new PeerServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return PeerServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static PeerServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<PeerServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<PeerServiceBlockingStub>() {
        @java.lang.Override
        public PeerServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new PeerServiceBlockingStub(channel, callOptions);
        }
      };
    return PeerServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static PeerServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<PeerServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<PeerServiceFutureStub>() {
        @java.lang.Override
        public PeerServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new PeerServiceFutureStub(channel, callOptions);
        }
      };
    return PeerServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * PeerService lists the devices this daemon knows, connects to them, pairs with them and sets
   * what each trusted peer may do.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Lists known peers: discovered, added, connected or trusted. Paginated.
     * Errors: INVALID_PAGE_TOKEN.
     * </pre>
     */
    default void listPeers(dev.kizuna.v1.ListPeersRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.ListPeersResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListPeersMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns one peer.
     * Errors: PEER_NOT_FOUND.
     * </pre>
     */
    default void getPeer(dev.kizuna.v1.GetPeerRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.GetPeerResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetPeerMethod(), responseObserver);
    }

    /**
     * <pre>
     * Adds a peer by address (for other subnets, VPNs, networks without multicast), dials it and
     * learns its identity from its certificate. The address is kept and re-dialled with backoff.
     * Errors: PEER_ADDRESS_INVALID, PEER_UNREACHABLE, PEER_ALREADY_EXISTS.
     * </pre>
     */
    default void addPeer(dev.kizuna.v1.AddPeerRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.AddPeerResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getAddPeerMethod(), responseObserver);
    }

    /**
     * <pre>
     * Removes a peer from the peer table and stops dialling any address added for it. Trust is
     * kept; use ForgetPeer to remove it.
     * Errors: PEER_NOT_FOUND.
     * </pre>
     */
    default void removePeer(dev.kizuna.v1.RemovePeerRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.RemovePeerResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRemovePeerMethod(), responseObserver);
    }

    /**
     * <pre>
     * Opens (or reuses) the authenticated link to a peer.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED, PEER_UNREACHABLE, PEER_IDENTITY_MISMATCH.
     * </pre>
     */
    default void connectPeer(dev.kizuna.v1.ConnectPeerRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.ConnectPeerResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getConnectPeerMethod(), responseObserver);
    }

    /**
     * <pre>
     * Closes the link to a peer. In-flight transfers pause and resume when the link returns.
     * Errors: PEER_NOT_FOUND.
     * </pre>
     */
    default void disconnectPeer(dev.kizuna.v1.DisconnectPeerRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.DisconnectPeerResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getDisconnectPeerMethod(), responseObserver);
    }

    /**
     * <pre>
     * Asks a peer to pair. Both sides then show the same short code; the pairing completes when
     * people on both sides confirm it.
     * Errors: PEER_NOT_FOUND, PEER_UNREACHABLE, PAIRING_NOT_ALLOWED, PAIRING_LOCKED_OUT.
     * </pre>
     */
    default void requestPairing(dev.kizuna.v1.RequestPairingRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.RequestPairingResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRequestPairingMethod(), responseObserver);
    }

    /**
     * <pre>
     * Lists pairings that are still open (incoming ones wait for a decision here).
     * Errors: none beyond transport errors.
     * </pre>
     */
    default void listPairings(dev.kizuna.v1.ListPairingsRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.ListPairingsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListPairingsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Confirms that the code shown here equals the code shown on the other device.
     * Errors: PAIRING_NOT_FOUND, PAIRING_EXPIRED, PAIRING_LOCKED_OUT, INVALID_ARGUMENT (code given
     * and different).
     * </pre>
     */
    default void confirmPairing(dev.kizuna.v1.ConfirmPairingRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.ConfirmPairingResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getConfirmPairingMethod(), responseObserver);
    }

    /**
     * <pre>
     * Rejects an incoming or outgoing pairing.
     * Errors: PAIRING_NOT_FOUND.
     * </pre>
     */
    default void rejectPairing(dev.kizuna.v1.RejectPairingRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.RejectPairingResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRejectPairingMethod(), responseObserver);
    }

    /**
     * <pre>
     * Withdraws a pairing this device asked for.
     * Errors: PAIRING_NOT_FOUND.
     * </pre>
     */
    default void cancelPairing(dev.kizuna.v1.CancelPairingRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.CancelPairingResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCancelPairingMethod(), responseObserver);
    }

    /**
     * <pre>
     * Trusts a device by its full device ID, compared out of band, without interactive pairing.
     * The certificate is pinned at the first connection and must match the ID. Publishes
     * peer_updated (also for a device not seen yet), as every trust change does.
     * Errors: INVALID_ARGUMENT (malformed ID), PAIRING_NOT_ALLOWED.
     * </pre>
     */
    default void trustPeer(dev.kizuna.v1.TrustPeerRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.TrustPeerResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getTrustPeerMethod(), responseObserver);
    }

    /**
     * <pre>
     * Changes what a trusted peer may do on this device.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED, INVALID_ARGUMENT (unknown field in update_mask).
     * </pre>
     */
    default void updatePeerPermissions(dev.kizuna.v1.UpdatePeerPermissionsRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.UpdatePeerPermissionsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getUpdatePeerPermissionsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Removes trust: the pinned certificate and permissions are deleted and any open link to the
     * peer is closed. The peer must pair again.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED (known, but not trusted).
     * </pre>
     */
    default void forgetPeer(dev.kizuna.v1.ForgetPeerRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.ForgetPeerResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getForgetPeerMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service PeerService.
   * <pre>
   * PeerService lists the devices this daemon knows, connects to them, pairs with them and sets
   * what each trusted peer may do.
   * </pre>
   */
  public static abstract class PeerServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return PeerServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service PeerService.
   * <pre>
   * PeerService lists the devices this daemon knows, connects to them, pairs with them and sets
   * what each trusted peer may do.
   * </pre>
   */
  public static final class PeerServiceStub
      extends io.grpc.stub.AbstractAsyncStub<PeerServiceStub> {
    private PeerServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected PeerServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new PeerServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Lists known peers: discovered, added, connected or trusted. Paginated.
     * Errors: INVALID_PAGE_TOKEN.
     * </pre>
     */
    public void listPeers(dev.kizuna.v1.ListPeersRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.ListPeersResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListPeersMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns one peer.
     * Errors: PEER_NOT_FOUND.
     * </pre>
     */
    public void getPeer(dev.kizuna.v1.GetPeerRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.GetPeerResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetPeerMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Adds a peer by address (for other subnets, VPNs, networks without multicast), dials it and
     * learns its identity from its certificate. The address is kept and re-dialled with backoff.
     * Errors: PEER_ADDRESS_INVALID, PEER_UNREACHABLE, PEER_ALREADY_EXISTS.
     * </pre>
     */
    public void addPeer(dev.kizuna.v1.AddPeerRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.AddPeerResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getAddPeerMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Removes a peer from the peer table and stops dialling any address added for it. Trust is
     * kept; use ForgetPeer to remove it.
     * Errors: PEER_NOT_FOUND.
     * </pre>
     */
    public void removePeer(dev.kizuna.v1.RemovePeerRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.RemovePeerResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRemovePeerMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Opens (or reuses) the authenticated link to a peer.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED, PEER_UNREACHABLE, PEER_IDENTITY_MISMATCH.
     * </pre>
     */
    public void connectPeer(dev.kizuna.v1.ConnectPeerRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.ConnectPeerResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getConnectPeerMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Closes the link to a peer. In-flight transfers pause and resume when the link returns.
     * Errors: PEER_NOT_FOUND.
     * </pre>
     */
    public void disconnectPeer(dev.kizuna.v1.DisconnectPeerRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.DisconnectPeerResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getDisconnectPeerMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Asks a peer to pair. Both sides then show the same short code; the pairing completes when
     * people on both sides confirm it.
     * Errors: PEER_NOT_FOUND, PEER_UNREACHABLE, PAIRING_NOT_ALLOWED, PAIRING_LOCKED_OUT.
     * </pre>
     */
    public void requestPairing(dev.kizuna.v1.RequestPairingRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.RequestPairingResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRequestPairingMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Lists pairings that are still open (incoming ones wait for a decision here).
     * Errors: none beyond transport errors.
     * </pre>
     */
    public void listPairings(dev.kizuna.v1.ListPairingsRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.ListPairingsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListPairingsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Confirms that the code shown here equals the code shown on the other device.
     * Errors: PAIRING_NOT_FOUND, PAIRING_EXPIRED, PAIRING_LOCKED_OUT, INVALID_ARGUMENT (code given
     * and different).
     * </pre>
     */
    public void confirmPairing(dev.kizuna.v1.ConfirmPairingRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.ConfirmPairingResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getConfirmPairingMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Rejects an incoming or outgoing pairing.
     * Errors: PAIRING_NOT_FOUND.
     * </pre>
     */
    public void rejectPairing(dev.kizuna.v1.RejectPairingRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.RejectPairingResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRejectPairingMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Withdraws a pairing this device asked for.
     * Errors: PAIRING_NOT_FOUND.
     * </pre>
     */
    public void cancelPairing(dev.kizuna.v1.CancelPairingRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.CancelPairingResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCancelPairingMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Trusts a device by its full device ID, compared out of band, without interactive pairing.
     * The certificate is pinned at the first connection and must match the ID. Publishes
     * peer_updated (also for a device not seen yet), as every trust change does.
     * Errors: INVALID_ARGUMENT (malformed ID), PAIRING_NOT_ALLOWED.
     * </pre>
     */
    public void trustPeer(dev.kizuna.v1.TrustPeerRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.TrustPeerResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getTrustPeerMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Changes what a trusted peer may do on this device.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED, INVALID_ARGUMENT (unknown field in update_mask).
     * </pre>
     */
    public void updatePeerPermissions(dev.kizuna.v1.UpdatePeerPermissionsRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.UpdatePeerPermissionsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getUpdatePeerPermissionsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Removes trust: the pinned certificate and permissions are deleted and any open link to the
     * peer is closed. The peer must pair again.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED (known, but not trusted).
     * </pre>
     */
    public void forgetPeer(dev.kizuna.v1.ForgetPeerRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.ForgetPeerResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getForgetPeerMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service PeerService.
   * <pre>
   * PeerService lists the devices this daemon knows, connects to them, pairs with them and sets
   * what each trusted peer may do.
   * </pre>
   */
  public static final class PeerServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<PeerServiceBlockingV2Stub> {
    private PeerServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected PeerServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new PeerServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Lists known peers: discovered, added, connected or trusted. Paginated.
     * Errors: INVALID_PAGE_TOKEN.
     * </pre>
     */
    public dev.kizuna.v1.ListPeersResponse listPeers(dev.kizuna.v1.ListPeersRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListPeersMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns one peer.
     * Errors: PEER_NOT_FOUND.
     * </pre>
     */
    public dev.kizuna.v1.GetPeerResponse getPeer(dev.kizuna.v1.GetPeerRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetPeerMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Adds a peer by address (for other subnets, VPNs, networks without multicast), dials it and
     * learns its identity from its certificate. The address is kept and re-dialled with backoff.
     * Errors: PEER_ADDRESS_INVALID, PEER_UNREACHABLE, PEER_ALREADY_EXISTS.
     * </pre>
     */
    public dev.kizuna.v1.AddPeerResponse addPeer(dev.kizuna.v1.AddPeerRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getAddPeerMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Removes a peer from the peer table and stops dialling any address added for it. Trust is
     * kept; use ForgetPeer to remove it.
     * Errors: PEER_NOT_FOUND.
     * </pre>
     */
    public dev.kizuna.v1.RemovePeerResponse removePeer(dev.kizuna.v1.RemovePeerRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getRemovePeerMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Opens (or reuses) the authenticated link to a peer.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED, PEER_UNREACHABLE, PEER_IDENTITY_MISMATCH.
     * </pre>
     */
    public dev.kizuna.v1.ConnectPeerResponse connectPeer(dev.kizuna.v1.ConnectPeerRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getConnectPeerMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Closes the link to a peer. In-flight transfers pause and resume when the link returns.
     * Errors: PEER_NOT_FOUND.
     * </pre>
     */
    public dev.kizuna.v1.DisconnectPeerResponse disconnectPeer(dev.kizuna.v1.DisconnectPeerRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getDisconnectPeerMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Asks a peer to pair. Both sides then show the same short code; the pairing completes when
     * people on both sides confirm it.
     * Errors: PEER_NOT_FOUND, PEER_UNREACHABLE, PAIRING_NOT_ALLOWED, PAIRING_LOCKED_OUT.
     * </pre>
     */
    public dev.kizuna.v1.RequestPairingResponse requestPairing(dev.kizuna.v1.RequestPairingRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getRequestPairingMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists pairings that are still open (incoming ones wait for a decision here).
     * Errors: none beyond transport errors.
     * </pre>
     */
    public dev.kizuna.v1.ListPairingsResponse listPairings(dev.kizuna.v1.ListPairingsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListPairingsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Confirms that the code shown here equals the code shown on the other device.
     * Errors: PAIRING_NOT_FOUND, PAIRING_EXPIRED, PAIRING_LOCKED_OUT, INVALID_ARGUMENT (code given
     * and different).
     * </pre>
     */
    public dev.kizuna.v1.ConfirmPairingResponse confirmPairing(dev.kizuna.v1.ConfirmPairingRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getConfirmPairingMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Rejects an incoming or outgoing pairing.
     * Errors: PAIRING_NOT_FOUND.
     * </pre>
     */
    public dev.kizuna.v1.RejectPairingResponse rejectPairing(dev.kizuna.v1.RejectPairingRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getRejectPairingMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Withdraws a pairing this device asked for.
     * Errors: PAIRING_NOT_FOUND.
     * </pre>
     */
    public dev.kizuna.v1.CancelPairingResponse cancelPairing(dev.kizuna.v1.CancelPairingRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCancelPairingMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Trusts a device by its full device ID, compared out of band, without interactive pairing.
     * The certificate is pinned at the first connection and must match the ID. Publishes
     * peer_updated (also for a device not seen yet), as every trust change does.
     * Errors: INVALID_ARGUMENT (malformed ID), PAIRING_NOT_ALLOWED.
     * </pre>
     */
    public dev.kizuna.v1.TrustPeerResponse trustPeer(dev.kizuna.v1.TrustPeerRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getTrustPeerMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Changes what a trusted peer may do on this device.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED, INVALID_ARGUMENT (unknown field in update_mask).
     * </pre>
     */
    public dev.kizuna.v1.UpdatePeerPermissionsResponse updatePeerPermissions(dev.kizuna.v1.UpdatePeerPermissionsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getUpdatePeerPermissionsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Removes trust: the pinned certificate and permissions are deleted and any open link to the
     * peer is closed. The peer must pair again.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED (known, but not trusted).
     * </pre>
     */
    public dev.kizuna.v1.ForgetPeerResponse forgetPeer(dev.kizuna.v1.ForgetPeerRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getForgetPeerMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service PeerService.
   * <pre>
   * PeerService lists the devices this daemon knows, connects to them, pairs with them and sets
   * what each trusted peer may do.
   * </pre>
   */
  public static final class PeerServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<PeerServiceBlockingStub> {
    private PeerServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected PeerServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new PeerServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Lists known peers: discovered, added, connected or trusted. Paginated.
     * Errors: INVALID_PAGE_TOKEN.
     * </pre>
     */
    public dev.kizuna.v1.ListPeersResponse listPeers(dev.kizuna.v1.ListPeersRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListPeersMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns one peer.
     * Errors: PEER_NOT_FOUND.
     * </pre>
     */
    public dev.kizuna.v1.GetPeerResponse getPeer(dev.kizuna.v1.GetPeerRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetPeerMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Adds a peer by address (for other subnets, VPNs, networks without multicast), dials it and
     * learns its identity from its certificate. The address is kept and re-dialled with backoff.
     * Errors: PEER_ADDRESS_INVALID, PEER_UNREACHABLE, PEER_ALREADY_EXISTS.
     * </pre>
     */
    public dev.kizuna.v1.AddPeerResponse addPeer(dev.kizuna.v1.AddPeerRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getAddPeerMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Removes a peer from the peer table and stops dialling any address added for it. Trust is
     * kept; use ForgetPeer to remove it.
     * Errors: PEER_NOT_FOUND.
     * </pre>
     */
    public dev.kizuna.v1.RemovePeerResponse removePeer(dev.kizuna.v1.RemovePeerRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRemovePeerMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Opens (or reuses) the authenticated link to a peer.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED, PEER_UNREACHABLE, PEER_IDENTITY_MISMATCH.
     * </pre>
     */
    public dev.kizuna.v1.ConnectPeerResponse connectPeer(dev.kizuna.v1.ConnectPeerRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getConnectPeerMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Closes the link to a peer. In-flight transfers pause and resume when the link returns.
     * Errors: PEER_NOT_FOUND.
     * </pre>
     */
    public dev.kizuna.v1.DisconnectPeerResponse disconnectPeer(dev.kizuna.v1.DisconnectPeerRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getDisconnectPeerMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Asks a peer to pair. Both sides then show the same short code; the pairing completes when
     * people on both sides confirm it.
     * Errors: PEER_NOT_FOUND, PEER_UNREACHABLE, PAIRING_NOT_ALLOWED, PAIRING_LOCKED_OUT.
     * </pre>
     */
    public dev.kizuna.v1.RequestPairingResponse requestPairing(dev.kizuna.v1.RequestPairingRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRequestPairingMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists pairings that are still open (incoming ones wait for a decision here).
     * Errors: none beyond transport errors.
     * </pre>
     */
    public dev.kizuna.v1.ListPairingsResponse listPairings(dev.kizuna.v1.ListPairingsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListPairingsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Confirms that the code shown here equals the code shown on the other device.
     * Errors: PAIRING_NOT_FOUND, PAIRING_EXPIRED, PAIRING_LOCKED_OUT, INVALID_ARGUMENT (code given
     * and different).
     * </pre>
     */
    public dev.kizuna.v1.ConfirmPairingResponse confirmPairing(dev.kizuna.v1.ConfirmPairingRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getConfirmPairingMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Rejects an incoming or outgoing pairing.
     * Errors: PAIRING_NOT_FOUND.
     * </pre>
     */
    public dev.kizuna.v1.RejectPairingResponse rejectPairing(dev.kizuna.v1.RejectPairingRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRejectPairingMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Withdraws a pairing this device asked for.
     * Errors: PAIRING_NOT_FOUND.
     * </pre>
     */
    public dev.kizuna.v1.CancelPairingResponse cancelPairing(dev.kizuna.v1.CancelPairingRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCancelPairingMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Trusts a device by its full device ID, compared out of band, without interactive pairing.
     * The certificate is pinned at the first connection and must match the ID. Publishes
     * peer_updated (also for a device not seen yet), as every trust change does.
     * Errors: INVALID_ARGUMENT (malformed ID), PAIRING_NOT_ALLOWED.
     * </pre>
     */
    public dev.kizuna.v1.TrustPeerResponse trustPeer(dev.kizuna.v1.TrustPeerRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getTrustPeerMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Changes what a trusted peer may do on this device.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED, INVALID_ARGUMENT (unknown field in update_mask).
     * </pre>
     */
    public dev.kizuna.v1.UpdatePeerPermissionsResponse updatePeerPermissions(dev.kizuna.v1.UpdatePeerPermissionsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getUpdatePeerPermissionsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Removes trust: the pinned certificate and permissions are deleted and any open link to the
     * peer is closed. The peer must pair again.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED (known, but not trusted).
     * </pre>
     */
    public dev.kizuna.v1.ForgetPeerResponse forgetPeer(dev.kizuna.v1.ForgetPeerRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getForgetPeerMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service PeerService.
   * <pre>
   * PeerService lists the devices this daemon knows, connects to them, pairs with them and sets
   * what each trusted peer may do.
   * </pre>
   */
  public static final class PeerServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<PeerServiceFutureStub> {
    private PeerServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected PeerServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new PeerServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Lists known peers: discovered, added, connected or trusted. Paginated.
     * Errors: INVALID_PAGE_TOKEN.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.ListPeersResponse> listPeers(
        dev.kizuna.v1.ListPeersRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListPeersMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns one peer.
     * Errors: PEER_NOT_FOUND.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.GetPeerResponse> getPeer(
        dev.kizuna.v1.GetPeerRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetPeerMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Adds a peer by address (for other subnets, VPNs, networks without multicast), dials it and
     * learns its identity from its certificate. The address is kept and re-dialled with backoff.
     * Errors: PEER_ADDRESS_INVALID, PEER_UNREACHABLE, PEER_ALREADY_EXISTS.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.AddPeerResponse> addPeer(
        dev.kizuna.v1.AddPeerRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getAddPeerMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Removes a peer from the peer table and stops dialling any address added for it. Trust is
     * kept; use ForgetPeer to remove it.
     * Errors: PEER_NOT_FOUND.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.RemovePeerResponse> removePeer(
        dev.kizuna.v1.RemovePeerRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRemovePeerMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Opens (or reuses) the authenticated link to a peer.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED, PEER_UNREACHABLE, PEER_IDENTITY_MISMATCH.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.ConnectPeerResponse> connectPeer(
        dev.kizuna.v1.ConnectPeerRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getConnectPeerMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Closes the link to a peer. In-flight transfers pause and resume when the link returns.
     * Errors: PEER_NOT_FOUND.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.DisconnectPeerResponse> disconnectPeer(
        dev.kizuna.v1.DisconnectPeerRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getDisconnectPeerMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Asks a peer to pair. Both sides then show the same short code; the pairing completes when
     * people on both sides confirm it.
     * Errors: PEER_NOT_FOUND, PEER_UNREACHABLE, PAIRING_NOT_ALLOWED, PAIRING_LOCKED_OUT.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.RequestPairingResponse> requestPairing(
        dev.kizuna.v1.RequestPairingRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRequestPairingMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Lists pairings that are still open (incoming ones wait for a decision here).
     * Errors: none beyond transport errors.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.ListPairingsResponse> listPairings(
        dev.kizuna.v1.ListPairingsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListPairingsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Confirms that the code shown here equals the code shown on the other device.
     * Errors: PAIRING_NOT_FOUND, PAIRING_EXPIRED, PAIRING_LOCKED_OUT, INVALID_ARGUMENT (code given
     * and different).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.ConfirmPairingResponse> confirmPairing(
        dev.kizuna.v1.ConfirmPairingRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getConfirmPairingMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Rejects an incoming or outgoing pairing.
     * Errors: PAIRING_NOT_FOUND.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.RejectPairingResponse> rejectPairing(
        dev.kizuna.v1.RejectPairingRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRejectPairingMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Withdraws a pairing this device asked for.
     * Errors: PAIRING_NOT_FOUND.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.CancelPairingResponse> cancelPairing(
        dev.kizuna.v1.CancelPairingRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCancelPairingMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Trusts a device by its full device ID, compared out of band, without interactive pairing.
     * The certificate is pinned at the first connection and must match the ID. Publishes
     * peer_updated (also for a device not seen yet), as every trust change does.
     * Errors: INVALID_ARGUMENT (malformed ID), PAIRING_NOT_ALLOWED.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.TrustPeerResponse> trustPeer(
        dev.kizuna.v1.TrustPeerRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getTrustPeerMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Changes what a trusted peer may do on this device.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED, INVALID_ARGUMENT (unknown field in update_mask).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.UpdatePeerPermissionsResponse> updatePeerPermissions(
        dev.kizuna.v1.UpdatePeerPermissionsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getUpdatePeerPermissionsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Removes trust: the pinned certificate and permissions are deleted and any open link to the
     * peer is closed. The peer must pair again.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED (known, but not trusted).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.ForgetPeerResponse> forgetPeer(
        dev.kizuna.v1.ForgetPeerRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getForgetPeerMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_LIST_PEERS = 0;
  private static final int METHODID_GET_PEER = 1;
  private static final int METHODID_ADD_PEER = 2;
  private static final int METHODID_REMOVE_PEER = 3;
  private static final int METHODID_CONNECT_PEER = 4;
  private static final int METHODID_DISCONNECT_PEER = 5;
  private static final int METHODID_REQUEST_PAIRING = 6;
  private static final int METHODID_LIST_PAIRINGS = 7;
  private static final int METHODID_CONFIRM_PAIRING = 8;
  private static final int METHODID_REJECT_PAIRING = 9;
  private static final int METHODID_CANCEL_PAIRING = 10;
  private static final int METHODID_TRUST_PEER = 11;
  private static final int METHODID_UPDATE_PEER_PERMISSIONS = 12;
  private static final int METHODID_FORGET_PEER = 13;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final AsyncService serviceImpl;
    private final int methodId;

    MethodHandlers(AsyncService serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_LIST_PEERS:
          serviceImpl.listPeers((dev.kizuna.v1.ListPeersRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.ListPeersResponse>) responseObserver);
          break;
        case METHODID_GET_PEER:
          serviceImpl.getPeer((dev.kizuna.v1.GetPeerRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.GetPeerResponse>) responseObserver);
          break;
        case METHODID_ADD_PEER:
          serviceImpl.addPeer((dev.kizuna.v1.AddPeerRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.AddPeerResponse>) responseObserver);
          break;
        case METHODID_REMOVE_PEER:
          serviceImpl.removePeer((dev.kizuna.v1.RemovePeerRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.RemovePeerResponse>) responseObserver);
          break;
        case METHODID_CONNECT_PEER:
          serviceImpl.connectPeer((dev.kizuna.v1.ConnectPeerRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.ConnectPeerResponse>) responseObserver);
          break;
        case METHODID_DISCONNECT_PEER:
          serviceImpl.disconnectPeer((dev.kizuna.v1.DisconnectPeerRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.DisconnectPeerResponse>) responseObserver);
          break;
        case METHODID_REQUEST_PAIRING:
          serviceImpl.requestPairing((dev.kizuna.v1.RequestPairingRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.RequestPairingResponse>) responseObserver);
          break;
        case METHODID_LIST_PAIRINGS:
          serviceImpl.listPairings((dev.kizuna.v1.ListPairingsRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.ListPairingsResponse>) responseObserver);
          break;
        case METHODID_CONFIRM_PAIRING:
          serviceImpl.confirmPairing((dev.kizuna.v1.ConfirmPairingRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.ConfirmPairingResponse>) responseObserver);
          break;
        case METHODID_REJECT_PAIRING:
          serviceImpl.rejectPairing((dev.kizuna.v1.RejectPairingRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.RejectPairingResponse>) responseObserver);
          break;
        case METHODID_CANCEL_PAIRING:
          serviceImpl.cancelPairing((dev.kizuna.v1.CancelPairingRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.CancelPairingResponse>) responseObserver);
          break;
        case METHODID_TRUST_PEER:
          serviceImpl.trustPeer((dev.kizuna.v1.TrustPeerRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.TrustPeerResponse>) responseObserver);
          break;
        case METHODID_UPDATE_PEER_PERMISSIONS:
          serviceImpl.updatePeerPermissions((dev.kizuna.v1.UpdatePeerPermissionsRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.UpdatePeerPermissionsResponse>) responseObserver);
          break;
        case METHODID_FORGET_PEER:
          serviceImpl.forgetPeer((dev.kizuna.v1.ForgetPeerRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.ForgetPeerResponse>) responseObserver);
          break;
        default:
          throw new AssertionError();
      }
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public io.grpc.stub.StreamObserver<Req> invoke(
        io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        default:
          throw new AssertionError();
      }
    }
  }

  public static final io.grpc.ServerServiceDefinition bindService(AsyncService service) {
    return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
        .addMethod(
          getListPeersMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.ListPeersRequest,
              dev.kizuna.v1.ListPeersResponse>(
                service, METHODID_LIST_PEERS)))
        .addMethod(
          getGetPeerMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.GetPeerRequest,
              dev.kizuna.v1.GetPeerResponse>(
                service, METHODID_GET_PEER)))
        .addMethod(
          getAddPeerMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.AddPeerRequest,
              dev.kizuna.v1.AddPeerResponse>(
                service, METHODID_ADD_PEER)))
        .addMethod(
          getRemovePeerMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.RemovePeerRequest,
              dev.kizuna.v1.RemovePeerResponse>(
                service, METHODID_REMOVE_PEER)))
        .addMethod(
          getConnectPeerMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.ConnectPeerRequest,
              dev.kizuna.v1.ConnectPeerResponse>(
                service, METHODID_CONNECT_PEER)))
        .addMethod(
          getDisconnectPeerMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.DisconnectPeerRequest,
              dev.kizuna.v1.DisconnectPeerResponse>(
                service, METHODID_DISCONNECT_PEER)))
        .addMethod(
          getRequestPairingMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.RequestPairingRequest,
              dev.kizuna.v1.RequestPairingResponse>(
                service, METHODID_REQUEST_PAIRING)))
        .addMethod(
          getListPairingsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.ListPairingsRequest,
              dev.kizuna.v1.ListPairingsResponse>(
                service, METHODID_LIST_PAIRINGS)))
        .addMethod(
          getConfirmPairingMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.ConfirmPairingRequest,
              dev.kizuna.v1.ConfirmPairingResponse>(
                service, METHODID_CONFIRM_PAIRING)))
        .addMethod(
          getRejectPairingMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.RejectPairingRequest,
              dev.kizuna.v1.RejectPairingResponse>(
                service, METHODID_REJECT_PAIRING)))
        .addMethod(
          getCancelPairingMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.CancelPairingRequest,
              dev.kizuna.v1.CancelPairingResponse>(
                service, METHODID_CANCEL_PAIRING)))
        .addMethod(
          getTrustPeerMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.TrustPeerRequest,
              dev.kizuna.v1.TrustPeerResponse>(
                service, METHODID_TRUST_PEER)))
        .addMethod(
          getUpdatePeerPermissionsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.UpdatePeerPermissionsRequest,
              dev.kizuna.v1.UpdatePeerPermissionsResponse>(
                service, METHODID_UPDATE_PEER_PERMISSIONS)))
        .addMethod(
          getForgetPeerMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.ForgetPeerRequest,
              dev.kizuna.v1.ForgetPeerResponse>(
                service, METHODID_FORGET_PEER)))
        .build();
  }

  private static abstract class PeerServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    PeerServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.kizuna.v1.PeerServiceProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("PeerService");
    }
  }

  private static final class PeerServiceFileDescriptorSupplier
      extends PeerServiceBaseDescriptorSupplier {
    PeerServiceFileDescriptorSupplier() {}
  }

  private static final class PeerServiceMethodDescriptorSupplier
      extends PeerServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    PeerServiceMethodDescriptorSupplier(java.lang.String methodName) {
      this.methodName = methodName;
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.MethodDescriptor getMethodDescriptor() {
      return getServiceDescriptor().findMethodByName(methodName);
    }
  }

  private static volatile io.grpc.ServiceDescriptor serviceDescriptor;

  public static io.grpc.ServiceDescriptor getServiceDescriptor() {
    io.grpc.ServiceDescriptor result = serviceDescriptor;
    if (result == null) {
      synchronized (PeerServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new PeerServiceFileDescriptorSupplier())
              .addMethod(getListPeersMethod())
              .addMethod(getGetPeerMethod())
              .addMethod(getAddPeerMethod())
              .addMethod(getRemovePeerMethod())
              .addMethod(getConnectPeerMethod())
              .addMethod(getDisconnectPeerMethod())
              .addMethod(getRequestPairingMethod())
              .addMethod(getListPairingsMethod())
              .addMethod(getConfirmPairingMethod())
              .addMethod(getRejectPairingMethod())
              .addMethod(getCancelPairingMethod())
              .addMethod(getTrustPeerMethod())
              .addMethod(getUpdatePeerPermissionsMethod())
              .addMethod(getForgetPeerMethod())
              .build();
        }
      }
    }
    return result;
  }
}
